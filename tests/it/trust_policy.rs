//! `trust-policy`: every scope for each subject format, checked by evaluating the generated `sub`
//! condition (IAM `StringEquals` / `StringLike`, the emulator's matcher) against subjects that
//! must and must not match; the principal, audience and partition; the companion command on
//! stderr; and a generated policy accepted by the strict STS emulator.

use serde_json::Value;
use sts_emulator::{RoleTrust, string_like};

use crate::support::*;

const GH: &str = "repo:octo-org/octo-repo:ref:refs/heads/main";
const BK: &str = "organization:acme:pipeline:app:ref:refs/heads/main:commit:0123abc:step:build";
const CIRCLE: &str = "org/o-1/project/p-1/user/u-1";

/// The policy for a subject given by hand.
fn by_hand(sub: &str, scope: Option<&str>, extra: &[&str]) -> std::process::Output {
    let env = TestEnv::new();
    let mut cmd = env.cmd();
    cmd.args([
        "trust-policy",
        "--account-id",
        ACCOUNT,
        "--issuer",
        "https://gitlab.example.com",
        "--subject",
        sub,
    ]);
    if let Some(scope) = scope {
        cmd.args(["--scope", scope]);
    }
    cmd.args(extra).output().unwrap()
}

/// `trust-policy --scope SCOPE` for the job `env` sets up (the token comes from the job).
fn for_this_job(env: &TestEnv, scope: &str) -> std::process::Output {
    env.cmd()
        .args(["trust-policy", "--account-id", ACCOUNT, "--scope", scope])
        .output()
        .unwrap()
}

/// How IAM condition keys name the emulator's issuer: its URL without the scheme.
fn condition_key(env: &TestEnv) -> String {
    env.emu
        .issuer_url()
        .trim_start_matches("http://")
        .to_string()
}

fn policy(out: &std::process::Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("the policy is JSON")
}

/// (operator, pattern) of the `sub` condition, for issuer key `key`.
fn sub_condition(p: &Value, key: &str) -> (String, String) {
    let cond = &p["Statement"][0]["Condition"];
    let name = format!("{key}:sub");
    for op in ["StringEquals", "StringLike"] {
        if let Some(v) = cond[op][&name].as_str() {
            return (op.to_string(), v.to_string());
        }
    }
    panic!("no sub condition in {p:#}");
}

/// IAM's evaluation of the condition.
fn admits(op: &str, pattern: &str, sub: &str) -> bool {
    match op {
        "StringEquals" => pattern == sub,
        "StringLike" => string_like(pattern, sub),
        other => panic!("unexpected operator {other}"),
    }
}

fn check_scope(sub: &str, scope: &str, op: &str, admitted: &[&str], refused: &[&str]) {
    let p = policy(&by_hand(sub, Some(scope), &[]));
    let (got_op, pattern) = sub_condition(&p, "gitlab.example.com");
    assert_eq!(got_op, op, "{sub} --scope {scope}: {pattern}");
    assert!(
        admits(&got_op, &pattern, sub),
        "{pattern} must admit its own subject {sub}"
    );
    for s in admitted {
        assert!(
            admits(&got_op, &pattern, s),
            "--scope {scope}: {pattern} should admit {s}"
        );
    }
    for s in refused {
        assert!(
            !admits(&got_op, &pattern, s),
            "--scope {scope}: {pattern} must refuse {s}"
        );
    }
}

#[test]
fn gitlab_scopes_admit_exactly_what_they_say() {
    let other_ref = "project_path:group/project:ref_type:branch:ref:dev";
    let tag = "project_path:group/project:ref_type:tag:ref:v1";
    let sibling = "project_path:group/other:ref_type:branch:ref:main";
    let nested = "project_path:group/sub/deep:ref_type:branch:ref:main";
    let prefix_project = "project_path:group/project-evil:ref_type:branch:ref:main";
    let prefix_group = "project_path:group-evil/project:ref_type:branch:ref:main";
    let upper = "project_path:Group/project:ref_type:branch:ref:main";
    check_scope(
        GOOD_SUB,
        "exact",
        "StringEquals",
        &[],
        &[other_ref, tag, sibling, upper],
    );
    check_scope(
        GOOD_SUB,
        "branch",
        "StringEquals",
        &[],
        &[other_ref, tag, sibling],
    );
    check_scope(
        GOOD_SUB,
        "project",
        "StringLike",
        &[other_ref, tag],
        &[sibling, prefix_project, upper],
    );
    for scope in ["group", "org"] {
        check_scope(
            GOOD_SUB,
            scope,
            "StringLike",
            &[other_ref, tag, sibling, nested],
            &[prefix_group, upper],
        );
    }
    check_scope(tag, "tag", "StringEquals", &[], &[GOOD_SUB]);
}

#[test]
fn github_scopes_admit_exactly_what_they_say() {
    let other_branch = "repo:octo-org/octo-repo:ref:refs/heads/dev";
    let tag = "repo:octo-org/octo-repo:ref:refs/tags/v1";
    let pr = "repo:octo-org/octo-repo:pull_request";
    let envn = "repo:octo-org/octo-repo:environment:prod";
    let sibling = "repo:octo-org/other:ref:refs/heads/main";
    let prefix_repo = "repo:octo-org/octo-repo-evil:ref:refs/heads/main";
    let prefix_org = "repo:octo-org-evil/octo-repo:ref:refs/heads/main";
    check_scope(GH, "exact", "StringEquals", &[], &[other_branch, pr, envn]);
    check_scope(GH, "branch", "StringEquals", &[], &[other_branch, tag]);
    check_scope(tag, "tag", "StringEquals", &[], &[GH]);
    check_scope(
        GH,
        "project",
        "StringLike",
        &[other_branch, tag, pr, envn],
        &[sibling, prefix_repo],
    );
    check_scope(
        GH,
        "org",
        "StringLike",
        &[other_branch, sibling, envn],
        &[prefix_org],
    );
    check_scope(envn, "exact", "StringEquals", &[], &[GH, pr]);
}

#[test]
fn buildkite_defaults_to_the_ref_because_its_subject_names_the_commit() {
    let next_commit = "organization:acme:pipeline:app:ref:refs/heads/main:commit:fff999:step:test";
    let other_ref = "organization:acme:pipeline:app:ref:refs/heads/dev:commit:0123abc:step:build";
    let other_pipe = "organization:acme:pipeline:web:ref:refs/heads/main:commit:1:step:build";
    let other_org = "organization:acme2:pipeline:app:ref:refs/heads/main:commit:1:step:build";
    let p = policy(&by_hand(BK, None, &[]));
    let (op, pattern) = sub_condition(&p, "gitlab.example.com");
    assert_eq!(
        (op.as_str(), pattern.as_str()),
        (
            "StringLike",
            "organization:acme:pipeline:app:ref:refs/heads/main:*"
        )
    );
    check_scope(
        BK,
        "branch",
        "StringLike",
        &[next_commit],
        &[other_ref, other_pipe],
    );
    check_scope(
        BK,
        "project",
        "StringLike",
        &[next_commit, other_ref],
        &[other_pipe],
    );
    check_scope(BK, "org", "StringLike", &[other_pipe], &[other_org]);
    check_scope(BK, "exact", "StringEquals", &[], &[next_commit]);
}

#[test]
fn circleci_defaults_to_the_project_because_its_subject_names_the_user() {
    let other_user = "org/o-1/project/p-1/user/u-2";
    let other_project = "org/o-1/project/p-2/user/u-1";
    let p = policy(&by_hand(CIRCLE, None, &[]));
    assert_eq!(
        sub_condition(&p, "gitlab.example.com"),
        ("StringLike".into(), "org/o-1/project/p-1/*".into())
    );
    check_scope(
        CIRCLE,
        "project",
        "StringLike",
        &[other_user],
        &[other_project],
    );
    check_scope(
        CIRCLE,
        "org",
        "StringLike",
        &[other_project],
        &["org/o-12/project/p-1/user/u-1"],
    );
    let out = by_hand(CIRCLE, Some("branch"), &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_scope_the_subject_cannot_express_is_a_usage_error_naming_the_possible_ones() {
    let out = by_hand(GOOD_SUB, Some("tag"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("this job runs on a branch"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "no policy printed");

    let envn = "repo:octo-org/octo-repo:environment:prod";
    let out = by_hand(envn, Some("branch"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("environment"), "{}", stderr(&out));
    assert!(stderr(&out).contains("use one of: exact, branch, tag, project, group"));
}

#[test]
fn an_unknown_subject_format_only_gets_exact_unless_any_subject_is_allowed() {
    let sub = "system:serviceaccount:ci:deployer";
    let p = policy(&by_hand(sub, None, &[]));
    assert_eq!(
        sub_condition(&p, "gitlab.example.com"),
        ("StringEquals".into(), sub.into())
    );
    let out = by_hand(sub, Some("project"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--allow-any-subject"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());

    let out = by_hand(sub, Some("project"), &["--allow-any-subject"]);
    let p = policy(&out);
    assert_eq!(
        sub_condition(&p, "gitlab.example.com"),
        ("StringLike".into(), "*".into())
    );
    assert!(
        stderr(&out).contains("trusts every subject"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_policy_for_the_current_token_names_its_provider_audience_and_subject() {
    let mut env = TestEnv::new();
    env.gitlab_job("AWS_ID_TOKEN", env.gitlab_claims());
    let issuer = env.emu.issuer_url();
    let key = issuer.trim_start_matches("http://").to_string();
    let out = env
        .cmd()
        .args(["trust-policy", "--account-id", ACCOUNT])
        .output()
        .unwrap();
    let p = policy(&out);
    let st = &p["Statement"][0];
    assert_eq!(p["Version"], "2012-10-17");
    assert_eq!(st["Effect"], "Allow");
    assert_eq!(st["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(
        st["Principal"]["Federated"],
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{key}")
    );
    assert_eq!(
        st["Condition"]["StringEquals"][format!("{key}:aud")],
        "sts.amazonaws.com"
    );
    assert_eq!(
        sub_condition(&p, &key),
        ("StringEquals".into(), GOOD_SUB.into())
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "aws iam create-open-id-connect-provider --url {issuer} --client-id-list sts.amazonaws.com"
        )),
        "{err}"
    );
    // stdout is the policy alone, so it can be redirected to a file.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("create-open-id-connect-provider"));
}

#[test]
fn audience_and_partition_can_be_overridden() {
    let out = by_hand(
        GOOD_SUB,
        None,
        &[
            "--audience",
            "https://gitlab.example.com",
            "--role-arn",
            "arn:aws-us-gov:iam::123456789012:role/deploy",
        ],
    );
    let p = policy(&out);
    let st = &p["Statement"][0];
    assert_eq!(
        st["Principal"]["Federated"],
        "arn:aws-us-gov:iam::123456789012:oidc-provider/gitlab.example.com"
    );
    assert_eq!(
        st["Condition"]["StringEquals"]["gitlab.example.com:aud"],
        "https://gitlab.example.com"
    );
    let out = by_hand(GOOD_SUB, None, &["--partition", "aws-cn"]);
    assert!(
        policy(&out)["Statement"][0]["Principal"]["Federated"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws-cn:iam::123456789012:")
    );
    let out = by_hand(GOOD_SUB, None, &["--partition", "aws-moon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("fix: use one of aws, aws-cn, aws-us-gov, aws-iso,"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn partition_takes_every_partition_a_role_arn_can_be_in() {
    for partition in ["aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"] {
        let out = by_hand(GOOD_SUB, None, &["--partition", partition]);
        let p = policy(&out);
        let st = &p["Statement"][0];
        assert_eq!(
            st["Principal"]["Federated"],
            format!("arn:{partition}:iam::123456789012:oidc-provider/gitlab.example.com")
        );
        // The condition keys name the issuer, not the partition.
        assert_eq!(
            st["Condition"]["StringEquals"]["gitlab.example.com:aud"],
            "sts.amazonaws.com"
        );
    }
}

#[test]
fn a_missing_or_malformed_account_id_is_a_usage_error() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args([
            "trust-policy",
            "--issuer",
            "https://x",
            "--subject",
            GOOD_SUB,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--account-id"), "{}", stderr(&out));
    let out = by_hand(GOOD_SUB, None, &[]);
    assert_eq!(out.status.code(), Some(0));
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args([
            "trust-policy",
            "--account-id",
            "12345",
            "--issuer",
            "https://x",
            "--subject",
            GOOD_SUB,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("12 digits"), "{}", stderr(&out));
}

#[test]
fn the_strict_emulator_accepts_the_group_policy_for_a_sibling_project_and_refuses_another_group() {
    let p = policy(&by_hand(GOOD_SUB, Some("group"), &[]));
    let (_, pattern) = sub_condition(&p, "gitlab.example.com");
    let mut env = TestEnv::with_roles(vec![RoleTrust::new(ROLE, "sts.amazonaws.com", pattern)]);

    let mut claims = env.gitlab_claims();
    claims["sub"] = "project_path:group/sibling:ref_type:branch:ref:main".into();
    env.gitlab_job("AWS_ID_TOKEN", claims);
    let out = env
        .cmd()
        .args(["--role-arn", ROLE, "--no-cache"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let mut claims = env.gitlab_claims();
    claims["sub"] = "project_path:other/project:ref_type:branch:ref:main".into();
    env.gitlab_job("AWS_ID_TOKEN", claims);
    let out = env
        .cmd()
        .args(["--role-arn", ROLE, "--no-cache"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}

#[test]
fn in_a_github_job_the_token_is_requested_and_its_subject_used() {
    let mut env = TestEnv::new();
    env.github_job();
    env.emu
        .set_github_claims(serde_json::json!({"sub": GH, "repository": "octo-org/octo-repo"}));
    let key = condition_key(&env);
    let out = for_this_job(&env, "project");
    let p = policy(&out);
    assert_eq!(
        sub_condition(&p, &key),
        ("StringLike".into(), "repo:octo-org/octo-repo:*".into())
    );
    assert_eq!(env.emu.github_audiences(), vec!["sts.amazonaws.com"]);
}

// ---------------------------------------------------------------------------------------------
// Customised subjects: GitHub `include_claim_keys`, GitLab `ci_id_token_sub_claim_components`

const GH_IDS: &str = "repository_owner_id:72338201:repository_id:567890:environment:prod";

#[test]
fn github_customised_subjects_get_prefixes_of_their_identity_parts() {
    let other_env = "repository_owner_id:72338201:repository_id:567890:environment:dev";
    let other_repo = "repository_owner_id:72338201:repository_id:111:environment:prod";
    let other_owner = "repository_owner_id:9:repository_id:567890:environment:prod";
    let longer_owner_id = "repository_owner_id:723382019:repository_id:567890:environment:prod";
    let longer_repo_id = "repository_owner_id:72338201:repository_id:5678901:environment:prod";
    let default_form = "repo:octo-org/octo-repo:environment:prod";
    check_scope(
        GH_IDS,
        "exact",
        "StringEquals",
        &[],
        &[other_env, other_repo, default_form],
    );
    check_scope(
        GH_IDS,
        "project",
        "StringLike",
        &[other_env],
        &[other_repo, other_owner, longer_repo_id, default_form],
    );
    check_scope(
        GH_IDS,
        "org",
        "StringLike",
        &[other_env, other_repo],
        &[other_owner, longer_owner_id, default_form],
    );
    // An environment job's customised subject has no ref: branch is refused, naming the others.
    let out = by_hand(GH_IDS, Some("branch"), &[]);
    assert_eq!(out.status.code(), Some(2));
    says(&stderr(&out), &["no `ref:` part", "exact or project"]);

    // `context` then `job_workflow_ref`: the branch is the exact subject, the repo a prefix.
    let wf = "repo:octo-org/octo-repo:ref:refs/heads/main:job_workflow_ref:octo-org/shared/.github/workflows/deploy.yml@refs/heads/main";
    let other_wf = "repo:octo-org/octo-repo:ref:refs/heads/main:job_workflow_ref:octo-org/shared/.github/workflows/evil.yml@refs/heads/main";
    check_scope(wf, "branch", "StringEquals", &[], &[other_wf]);
    check_scope(
        wf,
        "project",
        "StringLike",
        &[other_wf],
        &["repo:octo-org/other:ref:refs/heads/main"],
    );

    // The identity after the context: no prefix names the repository, so only exact or branch.
    let late = "ref:refs/heads/main:repository_id:567890";
    check_scope(
        late,
        "branch",
        "StringEquals",
        &[],
        &["ref:refs/heads/main:repository_id:1"],
    );
    let out = by_hand(late, Some("project"), &[]);
    assert_eq!(out.status.code(), Some(2));
    says(
        &stderr(&out),
        &[
            "does not start with the repository",
            "use one of: exact, branch, tag\n",
        ],
    );
    let out = by_hand(late, Some("org"), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    says(&stderr(&out), &["does not start with the owner"]);
}

#[test]
fn github_customised_subject_of_only_identity_parts_is_matched_whole() {
    let sub = "repository_owner_id:72338201:repository_id:567890";
    check_scope(
        sub,
        "project",
        "StringEquals",
        &[],
        &["repository_owner_id:72338201:repository_id:5678901"],
    );
    check_scope(
        sub,
        "org",
        "StringLike",
        &["repository_owner_id:72338201:repository_id:1"],
        &["repository_owner_id:7233820:repository_id:1"],
    );
}

#[test]
fn gitlab_customised_sub_claim_components_get_the_scopes_they_can_express() {
    let reordered = "project_path:group/project:ref:main:ref_type:branch";
    let other_ref = "project_path:group/project:ref:dev:ref_type:branch";
    let tag_same_name = "project_path:group/project:ref:main:ref_type:tag";
    let sibling = "project_path:group/other:ref:main:ref_type:branch";
    let prefix_project = "project_path:group/project-evil:ref:main:ref_type:branch";
    check_scope(
        reordered,
        "branch",
        "StringEquals",
        &[],
        &[other_ref, tag_same_name],
    );
    check_scope(
        reordered,
        "project",
        "StringLike",
        &[other_ref, tag_same_name],
        &[sibling, prefix_project],
    );
    check_scope(
        reordered,
        "group",
        "StringLike",
        &[sibling, other_ref],
        &["project_path:group-evil/project:ref:main:ref_type:branch"],
    );

    // `project_path,ref`: a tag named like the branch has the same subject, so no branch scope.
    let ref_only = "project_path:group/project:ref:main";
    check_scope(
        ref_only,
        "project",
        "StringLike",
        &["project_path:group/project:ref:dev"],
        &["project_path:group/projectx:ref:main"],
    );
    let out = by_hand(ref_only, Some("branch"), &[]);
    assert_eq!(out.status.code(), Some(2));
    says(&stderr(&out), &["leave out ref_type"]);
    // `project_path,ref_type`: no ref to name.
    let type_only = "project_path:group/project:ref_type:branch";
    check_scope(
        type_only,
        "exact",
        "StringEquals",
        &[],
        &["project_path:group/project:ref_type:tag"],
    );
    let out = by_hand(type_only, Some("branch"), &[]);
    assert_eq!(out.status.code(), Some(2));
    says(&stderr(&out), &["leave out ref,"]);
}

/// In a GitHub job whose repository customises its subject, the policy is built from the token's
/// real subject, and the strict emulator accepts a job of the same repository (another
/// environment) and refuses another repository of the owner.
#[test]
fn in_a_github_job_with_a_customised_subject_the_policy_matches_the_real_token() {
    let mut env = TestEnv::new();
    env.github_job();
    let claims = |sub: &str, repo_id: &str| {
        serde_json::json!({
            "sub": sub, "repository": "octo-org/octo-repo", "repository_owner_id": "72338201",
            "repository_id": repo_id, "environment": sub.rsplit(':').next().unwrap(),
            "run_id": "555", "run_attempt": "2",
        })
    };
    env.emu.set_github_claims(claims(GH_IDS, "567890"));
    let key = condition_key(&env);
    let out = for_this_job(&env, "project");
    let p = policy(&out);
    let (op, pattern) = sub_condition(&p, &key);
    assert_eq!(
        (op.as_str(), pattern.as_str()),
        (
            "StringLike",
            "repository_owner_id:72338201:repository_id:567890:*"
        )
    );
    says(&stderr(&out), &["GitHub (customised) subjects"]);

    let mut env2 = TestEnv::with_roles(vec![RoleTrust::new(ROLE, "sts.amazonaws.com", pattern)]);
    env2.github_job();
    let dev = "repository_owner_id:72338201:repository_id:567890:environment:dev";
    env2.emu.set_github_claims(claims(dev, "567890"));
    let out = env2
        .cmd()
        .args(["--role-arn", ROLE, "--no-cache"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let other = "repository_owner_id:72338201:repository_id:111:environment:prod";
    env2.emu.set_github_claims(claims(other, "111"));
    let out = env2
        .cmd()
        .args(["--role-arn", ROLE, "--no-cache"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}

/// A subject whose parts disagree with the token's own claims is not read as customised: only
/// exact is offered.
#[test]
fn a_customised_looking_subject_that_disagrees_with_the_token_only_gets_exact() {
    let mut env = TestEnv::new();
    env.github_job();
    env.emu.set_github_claims(serde_json::json!({
        "sub": GH_IDS, "repository_owner_id": "1", "repository_id": "567890",
    }));
    let out = for_this_job(&env, "project");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    says(&stderr(&out), &["only `exact`"]);
}

/// env0's issuer ends in `/`; IAM keeps it in the provider ARN and the condition keys.
#[test]
fn an_issuer_with_a_trailing_slash_keeps_it() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args([
            "trust-policy",
            "--account-id",
            ACCOUNT,
            "--issuer",
            "https://login.app.env0.com/",
            "--subject",
            "auth0|env0-org-user",
        ])
        .output()
        .unwrap();
    let p = policy(&out);
    assert_eq!(
        p["Statement"][0]["Principal"]["Federated"],
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/login.app.env0.com/")
    );
    assert_eq!(
        sub_condition(&p, "login.app.env0.com/"),
        ("StringEquals".into(), "auth0|env0-org-user".into())
    );
    says(&stderr(&out), &["--url https://login.app.env0.com/ "]);
}
