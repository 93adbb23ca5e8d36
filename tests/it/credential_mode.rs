//! Credential mode end to end: detection, the exchange, the JSON, and each error's message and
//! exit code.

use crate::support::*;

#[test]
fn gitlab_job_gets_credentials_for_the_role() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let out = env.cmd().args(["--role-arn", ROLE]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "stderr stays empty on success");
    let v = process_json(&out.stdout);
    assert_eq!(v["AccountId"], ACCOUNT);
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let sent = env.emu.requests();
    let assume = sent
        .iter()
        .find(|r| r.action == "AssumeRoleWithWebIdentity")
        .unwrap();
    assert_eq!(assume.params["RoleSessionName"], "gl-42-1001");
    assert_eq!(assume.params["DurationSeconds"], "3600");
    assert_eq!(env.assume_calls(), 1);
}
