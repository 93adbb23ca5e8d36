//! `GetCallerIdentity`: the caller signs with credentials the emulator issued (checked by
//! [`super::auth::authenticate`]), and the answer names that session.

use super::StsError;
use super::auth::authenticate;
use super::response::{success_response, xml_escape};
use crate::Shared;
use crate::http::{Request, Response};

pub(super) fn get_caller_identity(shared: &Shared, req: &Request) -> Result<Response, StsError> {
    let issued = authenticate(shared, req)?;
    let inner = format!(
        "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
        xml_escape(&issued.assumed_role_arn),
        xml_escape(&issued.assumed_role_id),
        xml_escape(&issued.account)
    );
    Ok(success_response("GetCallerIdentity", &inner))
}
