//! The `-v` lines: one per setting, `name = value (origin)`, in the order users know from 0.1
//! (which interleaves the concerns, so it is written out here rather than per concern).

use std::fmt;

use super::{Config, Origin};

impl Config {
    /// The `-v` lines that say where each setting came from.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = |name: &str, value: &dyn fmt::Display, origin: &Origin| {
            lines.push(format!("{name} = {value} ({origin})"));
        };
        let (role, source, net) = (&self.role, &self.source, &self.network);
        match &role.arn {
            Some(r) => line("role-arn", &r.value.arn, &r.origin),
            None => line("role-arn", &"(none)", &Origin::Default),
        }
        let kind = source.kind.value.map(|k| k.name()).unwrap_or("auto");
        line("source", &kind, &source.kind.origin);
        if let Some(f) = &source.token_file {
            line("token-file", &f.value.display(), &f.origin);
        }
        let texts = [
            ("token-env", &source.token_env),
            ("token-command", &source.token_command),
            ("azure-service-connection", &source.azure_service_connection),
            ("tfc-tag", &source.tfc_tag),
        ];
        for (name, setting) in texts {
            if let Some(s) = setting {
                line(name, &s.value, &s.origin);
            }
        }
        line("audience", &source.audience.value, &source.audience.origin);
        match &role.session_name {
            Some(s) => line("session-name", &s.value, &s.origin),
            None => line("session-name", &"(from the job)", &Origin::Default),
        }
        let duration = &role.duration_seconds;
        line(
            "duration",
            &format!("{}s", duration.value),
            &duration.origin,
        );
        line("region", &net.region.value, &net.region.origin);
        // `-v` is worth a rule run: it shows the URL a miss would call.
        match net.sts_endpoint_url() {
            Ok(url) => line("sts-endpoint", &url, &net.sts_endpoint.origin),
            Err(e) => line(
                "sts-endpoint",
                &format!("(none: {})", e.message().what),
                &net.sts_endpoint.origin,
            ),
        }
        if let Some(b) = &net.ca_bundle {
            line("ca-bundle (STS)", &b.value.display(), &b.origin);
        }
        if let Some(p) = &role.policy {
            line(
                "policy",
                &format!("{} characters", p.value.len()),
                &p.origin,
            );
        }
        for arn in &role.policy_arns {
            line("policy-arn", arn, &Origin::Flag("--policy-arn"));
        }
        let chain = &self.chain;
        if let Some(roles) = &chain.roles {
            let arns: Vec<&str> = roles.value.iter().map(|r| r.arn.as_str()).collect();
            line("chain", &arns.join(","), &roles.origin);
        }
        let d = &chain.duration_seconds;
        if chain.roles.is_some() || d.origin != Origin::Default {
            line("chain-duration", &format!("{}s", d.value), &d.origin);
        }
        if let Some(id) = &chain.external_id {
            line("external-id", &id.value, &id.origin);
        }
        let tags = &chain.tags;
        if let Some(t) = &tags.tags {
            let shown: Vec<String> = t.value.iter().map(|(k, v)| format!("{k}={v}")).collect();
            line("tag", &shown.join(","), &t.origin);
        }
        if let Some(t) = &tags.transitive_keys {
            line("transitive-tag-key", &t.value.join(","), &t.origin);
        }
        if let Some(s) = &tags.source_identity {
            line("source-identity", &s.value, &s.origin);
        }
        if tags.ci_tags.origin != Origin::Default {
            let on = if tags.ci_tags.value { "on" } else { "off" };
            line("ci-tags", &on, &tags.ci_tags.origin);
        }
        for (name, list) in [
            ("allowed-account-ids", &self.guard.allowed),
            ("forbidden-account-ids", &self.guard.forbidden),
        ] {
            if let Some(l) = list {
                line(name, &super::chain::ids(&l.value), &l.origin);
            }
        }
        let timeout = &net.timeout;
        line(
            "timeout",
            &format!("{}s", timeout.value.as_secs()),
            &timeout.origin,
        );
        let cache = &self.cache;
        let on = if cache.enabled.value { "on" } else { "off" };
        line("cache", &on, &cache.enabled.origin);
        let margin = &cache.refresh_margin;
        line(
            "refresh-margin",
            &format!("{}s", margin.value.num_seconds()),
            &margin.origin,
        );
        lines
    }
}
