//! Which token source a run uses: `--source`, else the precedence table in the module docs of
//! [`crate::source`], from the source settings and the job's environment alone.

use super::*;
use crate::config::SourceSettings;
use crate::diag::Diag;

/// Picks the token source for this run; see the module docs for the order.
/// Returns the source and why it was chosen.
pub fn detect(
    settings: &SourceSettings,
    env: &Env,
    diag: Diag,
) -> Result<(Box<dyn TokenSource>, String), Error> {
    let forced = settings.kind.value;
    let token_file_explicit = settings.explicit_token_file();
    let jenkins = is_jenkins(env);

    if let Some(kind) = forced {
        let why = format!("{} asked for it", settings.kind.origin);
        return Ok((build(kind, settings, env, diag)?, why));
    }
    if let Some(command) = &settings.token_command {
        return Ok((
            build(SourceKind::Command, settings, env, diag)?,
            format!("{} names the command", command.origin),
        ));
    }
    if let Some(name) = &settings.token_env {
        if env.is("GITLAB_CI", "true") {
            return Ok((
                Box::new(GitLabSource::new(settings, env)),
                format!("{} names the variable and GITLAB_CI=true", name.origin),
            ));
        }
        if jenkins {
            return Ok((
                build(SourceKind::Jenkins, settings, env, diag)?,
                format!(
                    "{} names the variable and JENKINS_URL and BUILD_ID are set",
                    name.origin
                ),
            ));
        }
        return Ok((
            build(SourceKind::Env, settings, env, diag)?,
            format!("{} names the variable", name.origin),
        ));
    }
    if let Some(file) = token_file_explicit {
        if jenkins {
            return Ok((
                build(SourceKind::Jenkins, settings, env, diag)?,
                format!(
                    "{} names the file and JENKINS_URL and BUILD_ID are set",
                    file.origin
                ),
            ));
        }
        return Ok((
            build(SourceKind::File, settings, env, diag)?,
            format!("{} names the file", file.origin),
        ));
    }
    if let Some(ci) = detect_ci(env) {
        let (kind, why) = (ci.kind, ci.why());
        let why = match &settings.token_file {
            Some(f) if kind != SourceKind::File => format!(
                "{why} (a CI job's own identity comes before {}, the pod's service-account token)",
                f.origin
            ),
            _ => why,
        };
        return Ok((build(kind, settings, env, diag)?, why));
    }
    if let Some(file) = &settings.token_file {
        return Ok((
            build(SourceKind::File, settings, env, diag)?,
            format!(
                "{} is set (Kubernetes / EKS service-account token)",
                file.origin
            ),
        ));
    }
    Err(Error::token(
        "no OIDC token source found: this does not look like a CI job with an ID token",
        "in GitLab CI add `id_tokens:` to the job; in GitHub Actions add `permissions: id-token: write`;\n\
         elsewhere pass --token-file PATH, --token-env NAME or --token-command CMD, or --source NAME\n\
         (see docs/ci/README.md for every supported CI)",
    ))
}

/// The CI a job runs in, as its marker variables show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiMatch {
    pub kind: SourceKind,
    /// The variable fact that matched: "GITHUB_ACTIONS=true", "TFC_RUN_ID is set".
    pub marker: String,
}

impl CiMatch {
    /// Why this source was chosen, for `-v`. Markers that do not name their CI get its name.
    pub fn why(&self) -> String {
        match self.kind {
            SourceKind::Azure
            | SourceKind::Codefresh
            | SourceKind::Tfc
            | SourceKind::Spacelift
            | SourceKind::Env0 => format!("{} ({})", self.marker, self.kind.ci_name()),
            _ => self.marker.clone(),
        }
    }
}

/// The CI this environment belongs to, by its marker variables, in precedence order. The one
/// detection both credential mode and `doctor` use.
pub fn detect_ci(env: &Env) -> Option<CiMatch> {
    let is_set = |name: &'static str| env.get(name).is_some().then(|| format!("{name} is set"));
    let is = |name: &str, value: &str| env.is(name, value).then(|| format!("{name}={value}"));
    let found = if let Some(m) = is("GITHUB_ACTIONS", "true") {
        (SourceKind::GitHub, m)
    } else if let Some(m) = is("GITLAB_CI", "true") {
        (SourceKind::GitLab, m)
    } else if let Some(m) = is("CIRCLECI", "true") {
        (SourceKind::CircleCi, m)
    } else if let Some(m) = is_set("BITBUCKET_BUILD_NUMBER") {
        (SourceKind::Bitbucket, m)
    } else if let Some(m) = is("BUILDKITE", "true") {
        (SourceKind::Buildkite, m)
    } else if let Some(m) = is("TF_BUILD", "True") {
        (SourceKind::Azure, m)
    } else if let Some(m) = is_set("CF_BUILD_ID") {
        (SourceKind::Codefresh, m)
    } else if let Some(m) = is_set("TFC_RUN_ID").or_else(|| is_set(tfc::TOKEN)) {
        (SourceKind::Tfc, m)
    } else if let Some(m) = is("SPACELIFT", "true")
        .or_else(|| is_set(spacelift::RUN_ID))
        .or_else(|| is_set(spacelift::TOKEN))
    {
        (SourceKind::Spacelift, m)
    } else if let Some(m) = is_set("ENV0_ENVIRONMENT_ID").or_else(|| is_set(env0::TOKEN)) {
        (SourceKind::Env0, m)
    } else if is_jenkins(env) {
        (
            SourceKind::Jenkins,
            "JENKINS_URL and BUILD_ID are set".to_string(),
        )
    } else {
        return None;
    };
    Some(CiMatch {
        kind: found.0,
        marker: found.1,
    })
}

pub(super) fn is_jenkins(env: &Env) -> bool {
    env.get("JENKINS_URL").is_some() && env.get("BUILD_ID").is_some()
}

fn build(
    kind: SourceKind,
    settings: &SourceSettings,
    env: &Env,
    diag: Diag,
) -> Result<Box<dyn TokenSource>, Error> {
    Ok(match kind {
        SourceKind::GitLab => Box::new(GitLabSource::new(settings, env)),
        SourceKind::GitHub => Box::new(GitHubSource::new(env)),
        SourceKind::CircleCi => Box::new(CircleCiSource::new(settings, env)),
        SourceKind::Bitbucket => Box::new(BitbucketSource::new(env)),
        SourceKind::Buildkite => Box::new(BuildkiteSource::new(env, diag)),
        SourceKind::Azure => Box::new(AzureSource::new(settings, env)),
        SourceKind::Jenkins => Box::new(JenkinsSource::new(settings, env)?),
        SourceKind::Tfc => Box::new(TfcSource::new(settings, env)),
        SourceKind::Spacelift => Box::new(SpaceliftSource::new(env)),
        SourceKind::Env0 => Box::new(Env0Source::new(env)),
        SourceKind::Codefresh => Box::new(CodefreshSource::new(settings, env)),
        SourceKind::Command => Box::new(CommandSource::new(settings, env, diag)?),
        SourceKind::File => Box::new(FileSource::new(settings)?),
        SourceKind::Env => Box::new(VariableSource::new(settings, env)?),
    })
}

/// The CI's facts about this job as `(tag key, value)`: which CI, the repository or project, the
/// ref, the pipeline or run, the job; from the CI's own variables, so they are known before any
/// call (they enter the cache key). Unclipped: the caller fits them to STS's limits.
pub fn ci_facts(kind: SourceKind, env: &Env) -> Vec<(&'static str, String)> {
    // (Repository, Ref, Run, Job) variables per CI.
    let names: [&str; 4] = match kind {
        SourceKind::GitLab => [
            "CI_PROJECT_PATH",
            "CI_COMMIT_REF_NAME",
            "CI_PIPELINE_ID",
            "CI_JOB_ID",
        ],
        SourceKind::GitHub => [
            "GITHUB_REPOSITORY",
            "GITHUB_REF_NAME",
            "GITHUB_RUN_ID",
            "GITHUB_JOB",
        ],
        SourceKind::CircleCi => [
            "CIRCLE_PROJECT_REPONAME",
            "CIRCLE_BRANCH",
            "CIRCLE_WORKFLOW_ID",
            "CIRCLE_BUILD_NUM",
        ],
        SourceKind::Bitbucket => [
            "BITBUCKET_REPO_FULL_NAME",
            "BITBUCKET_BRANCH",
            "BITBUCKET_PIPELINE_UUID",
            "BITBUCKET_STEP_UUID",
        ],
        SourceKind::Buildkite => [
            "BUILDKITE_PIPELINE_SLUG",
            "BUILDKITE_BRANCH",
            "BUILDKITE_BUILD_ID",
            "BUILDKITE_JOB_ID",
        ],
        SourceKind::Azure => [
            "BUILD_REPOSITORY_NAME",
            "BUILD_SOURCEBRANCHNAME",
            "BUILD_BUILDID",
            "SYSTEM_JOBID",
        ],
        SourceKind::Jenkins => ["JOB_NAME", "GIT_BRANCH", "BUILD_NUMBER", "BUILD_TAG"],
        _ => return Vec::new(),
    };
    let mut facts = vec![("CI", kind.name().to_string())];
    for (key, name) in ["Repository", "Ref", "Run", "Job"].into_iter().zip(names) {
        if let Some(v) = env.get(name).filter(|v| !v.is_empty()) {
            facts.push((key, v.to_string()));
        }
    }
    facts
}
