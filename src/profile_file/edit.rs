//! Setting keys in one profile of a [`ProfileFile`], changing only the lines that must change,
//! and the unified diff of that change (`setup --dry-run`).

use super::{Kind, ProfileFile, Section, SectionId};

/// One line of the result: kept, removed or added (each with its exact bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Same(String),
    Del(String),
    Add(String),
}

/// What to do to the profile's section.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// Keys to set, in this order for the ones that are new.
    pub settings: Vec<(&'a str, String)>,
    /// Property lines (indexes) to comment out, with their continuation lines.
    pub comment_out: Vec<usize>,
    /// The comment line put above the lines commented out, saying why.
    pub marker: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub ops: Vec<Op>,
    /// The section did not exist and was appended.
    pub appended: bool,
}

impl Edited {
    pub fn text(&self) -> String {
        self.ops
            .iter()
            .filter_map(|op| match op {
                Op::Same(s) | Op::Add(s) => Some(s.as_str()),
                Op::Del(_) => None,
            })
            .collect()
    }

    pub fn changed(&self) -> bool {
        self.ops.iter().any(|op| !matches!(op, Op::Same(_)))
    }

    /// A unified diff (3 lines of context), `None` when nothing changes.
    pub fn diff(&self, name: &str) -> Option<String> {
        if !self.changed() {
            return None;
        }
        const CONTEXT: usize = 3;
        let changes: Vec<usize> = (0..self.ops.len())
            .filter(|&i| !matches!(self.ops[i], Op::Same(_)))
            .collect();
        // Group changes whose context overlaps into hunks of op ranges.
        let mut hunks: Vec<(usize, usize)> = Vec::new();
        for &i in &changes {
            let start = i.saturating_sub(CONTEXT);
            let end = (i + CONTEXT + 1).min(self.ops.len());
            match hunks.last_mut() {
                Some(h) if start <= h.1 => h.1 = end,
                _ => hunks.push((start, end)),
            }
        }
        let mut out = format!("--- {name}\n+++ {name} (after setup)\n");
        let (mut old_no, mut new_no) = (1usize, 1usize);
        let mut pos = 0;
        for (start, end) in hunks {
            for op in &self.ops[pos..start] {
                count(op, &mut old_no, &mut new_no);
            }
            let (old_len, new_len) =
                self.ops[start..end]
                    .iter()
                    .fold((0, 0), |(o, n), op| match op {
                        Op::Same(_) => (o + 1, n + 1),
                        Op::Del(_) => (o + 1, n),
                        Op::Add(_) => (o, n + 1),
                    });
            let at = |no: usize, len: usize| if len == 0 { no - 1 } else { no };
            out.push_str(&format!(
                "@@ -{},{old_len} +{},{new_len} @@\n",
                at(old_no, old_len),
                at(new_no, new_len)
            ));
            for op in grouped(&self.ops[start..end]) {
                let (mark, raw) = match op {
                    Op::Same(s) => (' ', s),
                    Op::Del(s) => ('-', s),
                    Op::Add(s) => ('+', s),
                };
                // A CRLF line keeps its `\r`, so `patch` applies the diff to the file as it is.
                let content = raw.strip_suffix('\n').unwrap_or(raw);
                out.push(mark);
                out.push_str(&redacted(content));
                out.push('\n');
                if !raw.ends_with('\n') {
                    out.push_str("\\ No newline at end of file\n");
                }
                count(op, &mut old_no, &mut new_no);
            }
            pos = end;
        }
        Some(out.trim_end_matches('\n').to_string())
    }
}

/// A secret key's value, shown in a diff as `<redacted>`: the diff goes to a terminal or a CI
/// log, and other lines (context, commented-out static keys) may hold a secret.
fn redacted(line: &str) -> std::borrow::Cow<'_, str> {
    let bare = line.trim_start_matches(['#', ';', ' ', '\t']);
    if let Some((key, _)) = bare.split_once('=')
        && matches!(
            key.trim_matches([' ', '\t']).to_ascii_lowercase().as_str(),
            "aws_secret_access_key" | "aws_session_token"
        )
    {
        let eq = line.len() - bare.len() + key.len();
        return format!("{}= <redacted>", &line[..eq]).into();
    }
    line.into()
}

/// The ops with each run of changes as its removals, then its additions (as diff tools show
/// them; the counts are the same).
fn grouped(ops: &[Op]) -> Vec<&Op> {
    let mut out = Vec::with_capacity(ops.len());
    let mut adds = Vec::new();
    for op in ops {
        match op {
            Op::Same(_) => {
                out.append(&mut adds);
                out.push(op);
            }
            Op::Del(_) => out.push(op),
            Op::Add(_) => adds.push(op),
        }
    }
    out.append(&mut adds);
    out
}

fn count(op: &Op, old_no: &mut usize, new_no: &mut usize) {
    match op {
        Op::Same(_) => {
            *old_no += 1;
            *new_no += 1;
        }
        Op::Del(_) => *old_no += 1,
        Op::Add(_) => *new_no += 1,
    }
}

/// Applies the request to `section` (the one section the SDKs read as the profile), or appends
/// a new section for `id` when there is none. Lines not named by the request keep their bytes.
pub fn edit(
    file: &ProfileFile,
    section: Option<&Section>,
    id: &SectionId,
    req: &Request<'_>,
) -> Edited {
    let Some(section) = section else {
        return append_section(file, id, req);
    };
    let mut draft = Draft::new(file, section);
    draft.make_header_canonical();
    let missing = draft.set_existing(&req.settings);
    for &i in &req.comment_out {
        draft.comment_out(i);
    }
    draft.mark_commented_out(&req.marker);
    draft.add_after_last_setting(&missing);
    Edited {
        ops: to_ops(file, draft.out),
        appended: false,
    }
}

fn setting_line(key: &str, value: &str, ending: &str) -> String {
    format!("{key} = {value}{ending}")
}

fn comment_line(raw: &str) -> String {
    format!("# {raw}")
}

/// The file unchanged, then a new section for `id` with every setting of the request (after a
/// blank line, unless the file ends with one).
fn append_section(file: &ProfileFile, id: &SectionId, req: &Request<'_>) -> Edited {
    let nl = file.newline();
    let mut out = unchanged(file);
    let mut tail: Vec<String> = Vec::new();
    if let Some(last) = out.last_mut() {
        let line = last.last_mut().expect("one line");
        if !line.ends_with('\n') {
            line.push_str(nl);
        }
        if !matches!(file.lines.last().map(|l| &l.kind), Some(Kind::Blank)) {
            tail.push(nl.to_string());
        }
    }
    tail.push(format!("{}{nl}", id.canonical_header()));
    tail.extend(req.settings.iter().map(|(k, v)| setting_line(k, v, nl)));
    let mut ops = to_ops(file, out);
    ops.extend(tail.into_iter().map(Op::Add));
    Edited {
        ops,
        appended: true,
    }
}

/// What each original line becomes; `vec![raw]` means unchanged.
fn unchanged(file: &ProfileFile) -> Vec<Vec<String>> {
    file.lines.iter().map(|l| vec![l.raw.clone()]).collect()
}

/// An edit of one existing section in progress.
struct Draft<'f> {
    file: &'f ProfileFile,
    section: &'f Section,
    /// What each original line becomes (see [`unchanged`]).
    out: Vec<Vec<String>>,
    /// The property lines commented out so far, for the marker above the first.
    commented: Vec<usize>,
}

impl<'f> Draft<'f> {
    fn new(file: &'f ProfileFile, section: &'f Section) -> Draft<'f> {
        Draft {
            file,
            section,
            out: unchanged(file),
            commented: Vec::new(),
        }
    }

    /// The header, in its canonical form (a trailing comment is the user's and stays).
    fn make_header_canonical(&mut self) {
        let header = &self.file.lines[self.section.header];
        if let Kind::Header {
            id,
            comment,
            canonical: false,
        } = &header.kind
        {
            self.out[self.section.header] = vec![format!(
                "{}{comment}{}",
                id.canonical_header(),
                header.ending()
            )];
        }
    }

    /// Sets each key the section already has, in place; returns the keys it does not have, in
    /// the request's order.
    fn set_existing<'r>(&mut self, settings: &'r [(&'r str, String)]) -> Vec<(&'r str, &'r str)> {
        let mut missing = Vec::new();
        for (key, value) in settings {
            let found: Vec<(usize, &str)> = self
                .file
                .properties(self.section)
                .into_iter()
                .filter(|(_, k, _)| k == key)
                .map(|(i, _, v)| (i, v))
                .collect();
            match found.split_first() {
                None => missing.push((*key, value.as_str())),
                Some(((first, old), rest)) => {
                    self.replace(*first, key, old, value);
                    // A second `key =` makes botocore refuse the whole file.
                    for (i, _) in rest {
                        self.comment_out(*i);
                    }
                }
            }
        }
        missing
    }

    /// Rewrites the setting on line `i` unless it already holds `value` on one line; its old
    /// continuation lines are commented out.
    fn replace(&mut self, i: usize, key: &str, old: &str, value: &str) {
        let file = self.file;
        let has_continuation = !file.continuation_of(i, self.section).is_empty();
        if old == value && !has_continuation {
            return;
        }
        self.out[i] = vec![setting_line(key, value, file.lines[i].ending())];
        for j in file.continuation_of(i, self.section) {
            if matches!(file.lines[j].kind, Kind::Continuation) {
                self.out[j] = vec![comment_line(&file.lines[j].raw)];
            }
        }
    }

    /// Comments out property line `i` and its continuation lines.
    fn comment_out(&mut self, i: usize) {
        let file = self.file;
        for j in std::iter::once(i).chain(file.continuation_of(i, self.section)) {
            if !matches!(file.lines[j].kind, Kind::Comment | Kind::Blank) {
                self.out[j] = vec![comment_line(&file.lines[j].raw)];
            }
        }
        self.commented.push(i);
    }

    /// The marker line, once, above the first line commented out.
    fn mark_commented_out(&mut self, marker: &str) {
        if let Some(&first) = self.commented.iter().min() {
            self.out[first].insert(0, format!("{marker}{}", self.file.newline()));
        }
    }

    /// The new settings go after the section's last setting (and its continuation lines), so
    /// comments that introduce the next section stay with it.
    fn add_after_last_setting(&mut self, missing: &[(&str, &str)]) {
        if missing.is_empty() {
            return;
        }
        let (file, section) = (self.file, self.section);
        let nl = file.newline();
        let after = (section.header + 1..section.end)
            .rev()
            .find(|&i| {
                matches!(
                    file.lines[i].kind,
                    Kind::Property { .. } | Kind::Continuation
                )
            })
            .unwrap_or(section.header);
        let slot = &mut self.out[after];
        let last = slot.last_mut().expect("one line");
        if !last.ends_with('\n') {
            last.push_str(nl);
        }
        slot.extend(missing.iter().map(|(k, v)| setting_line(k, v, nl)));
    }
}

fn to_ops(file: &ProfileFile, out: Vec<Vec<String>>) -> Vec<Op> {
    let mut ops = Vec::new();
    for (line, new) in file.lines.iter().zip(out) {
        if new.len() == 1 && new[0] == line.raw {
            ops.push(Op::Same(line.raw.clone()));
        } else if let Some(pos) = new.iter().position(|n| *n == line.raw) {
            // Lines added around an unchanged one (a marker above, settings below).
            ops.extend(new[..pos].iter().cloned().map(Op::Add));
            ops.push(Op::Same(line.raw.clone()));
            ops.extend(new[pos + 1..].iter().cloned().map(Op::Add));
        } else {
            ops.push(Op::Del(line.raw.clone()));
            ops.extend(new.into_iter().map(Op::Add));
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    const CP: &str = "credential_process";

    /// Sets credential_process (and region) in profile `ci`, commenting out its conflicts.
    fn set(text: &str, profile: &str, settings: &[(&'static str, &str)]) -> Edited {
        let file = ProfileFile::parse(text);
        let sections = file.profile_sections(profile);
        assert!(sections.len() <= 1, "ambiguous in test input");
        let id = if profile == "default" {
            SectionId::Default
        } else {
            SectionId::Profile(profile.into())
        };
        let comment_out = sections
            .first()
            .map(|s| file.conflicts(s).iter().map(|c| c.line).collect())
            .unwrap_or_default();
        let req = Request {
            settings: settings.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            comment_out,
            marker: "# aws-ci-creds: commented out".into(),
        };
        edit(&file, sections.first(), &id, &req)
    }

    fn cp(text: &str) -> String {
        set(text, "ci", &[(CP, "new")]).text()
    }

    #[test]
    fn headers_with_comments_and_spaces_are_found_and_made_canonical() {
        assert_eq!(
            cp("[profile ci] ; keep me\ncredential_process = old\n"),
            "[profile ci] ; keep me\ncredential_process = new\n"
        );
        assert_eq!(
            cp("[profile ci] # keep\n"),
            "[profile ci] # keep\ncredential_process = new\n"
        );
        assert_eq!(
            cp("[   profile ci    ]\nregion = x\n"),
            "[profile ci]\nregion = x\ncredential_process = new\n"
        );
        assert_eq!(
            cp("[profile\tci]  ;c\n"),
            "[profile ci]  ;c\ncredential_process = new\n"
        );
    }

    #[test]
    fn sections_that_are_not_the_profile_are_left_alone() {
        let text = "[sso-session ci]\nx = 1\n[services ci]\ny = 2\n[profileci]\n[profile ci-prod]\nz = 3\n";
        let e = set(text, "ci", &[(CP, "new")]);
        assert!(e.appended);
        assert_eq!(
            e.text(),
            format!("{text}\n[profile ci]\ncredential_process = new\n")
        );
    }

    #[test]
    fn default_is_the_default_section_or_profile_default() {
        assert_eq!(
            set("[default]\nregion = x\n", "default", &[(CP, "y")]).text(),
            "[default]\nregion = x\ncredential_process = y\n"
        );
        assert_eq!(
            set("[profile default]\n", "default", &[(CP, "y")]).text(),
            "[profile default]\ncredential_process = y\n"
        );
        assert_eq!(
            set("[profile x]\n", "default", &[(CP, "y")]).text(),
            "[profile x]\n\n[default]\ncredential_process = y\n"
        );
    }

    #[test]
    fn sub_properties_continuations_and_comments_stay_byte_for_byte() {
        let text = "# top ; comment\n[profile ci]\n# keep me\ns3 =\n  max_concurrent_requests = 20\n  addressing_style = path\nfoo = a\n  continued\nregion = eu-west-1\n\n; next\n[profile other]\nregion = us-west-2\n";
        let e = set(text, "ci", &[(CP, "new"), ("region", "eu-west-1")]);
        assert_eq!(
            e.text(),
            text.replace(
                "region = eu-west-1\n",
                "region = eu-west-1\ncredential_process = new\n"
            )
        );
        // Twice is once.
        assert!(!set(&e.text(), "ci", &[(CP, "new"), ("region", "eu-west-1")]).changed());
    }

    #[test]
    fn crlf_stays_crlf_and_a_missing_final_newline_stays_missing() {
        assert_eq!(
            cp("[profile ci]\r\nregion = x\r\n"),
            "[profile ci]\r\nregion = x\r\ncredential_process = new\r\n"
        );
        assert_eq!(
            cp("[profile ci]\ncredential_process = old\n[profile z]\nregion = x"),
            "[profile ci]\ncredential_process = new\n[profile z]\nregion = x"
        );
        assert_eq!(
            cp("[profile ci]\r\ncredential_process = old"),
            "[profile ci]\r\ncredential_process = new"
        );
        assert_eq!(
            cp("[default]\r\nregion = x"),
            "[default]\r\nregion = x\r\n\r\n[profile ci]\r\ncredential_process = new\r\n"
        );
    }

    #[test]
    fn non_ascii_text_is_kept() {
        let text = "# Konfiguration für die Pipeline ✓\n[profile ci]\nregion = x # Zürich\n";
        assert_eq!(cp(text), format!("{text}credential_process = new\n"));
    }

    #[test]
    fn conflicting_keys_are_commented_out_under_a_marker() {
        let text = "[profile ci]\nrole_arn = arn:aws:iam::1:role/x\nregion = x\nweb_identity_token_file = /tmp/t\n";
        assert_eq!(
            cp(text),
            "[profile ci]\n# aws-ci-creds: commented out\n# role_arn = arn:aws:iam::1:role/x\nregion = x\n# web_identity_token_file = /tmp/t\ncredential_process = new\n"
        );
        let once = cp(text);
        assert_eq!(cp(&once), once, "commented lines are not touched again");
    }

    #[test]
    fn a_second_credential_process_is_commented_out_and_keys_match_in_any_case() {
        assert_eq!(
            cp("[profile ci]\nCredential_Process = a\ncredential_process = b\n"),
            "[profile ci]\ncredential_process = new\n# aws-ci-creds: commented out\n# credential_process = b\n"
        );
    }

    #[test]
    fn an_old_value_with_continuation_lines_loses_them() {
        assert_eq!(
            cp("[profile ci]\ncredential_process = a\n  b\nregion = x\n"),
            "[profile ci]\ncredential_process = new\n#   b\nregion = x\n"
        );
    }

    #[test]
    fn the_diff_never_shows_a_secret_key() {
        let text = "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\nAWS_Session_Token=IQoJb3JpZ2luX2VjE\n[profile ci]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n";
        let diff = set(text, "ci", &[(CP, "x")]).diff("c").unwrap();
        assert!(!diff.contains("wJalr"), "{diff}");
        assert!(!diff.contains("IQoJ"), "{diff}");
        assert!(
            diff.contains("\n aws_secret_access_key = <redacted>\n"),
            "{diff}"
        );
        assert!(
            diff.contains("\n AWS_Session_Token= <redacted>\n"),
            "{diff}"
        );
        assert!(
            diff.contains("\n+# aws_secret_access_key = <redacted>\n"),
            "{diff}"
        );
    }

    #[test]
    fn the_diff_shows_only_the_change_with_context() {
        let text = "a = 1\n[profile ci]\nb = 2\ncredential_process = old\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\n";
        let e = set(text, "ci", &[(CP, "new")]);
        assert_eq!(
            e.diff("config").unwrap(),
            "--- config\n+++ config (after setup)\n@@ -1,7 +1,7 @@\n a = 1\n [profile ci]\n b = 2\n-credential_process = old\n+credential_process = new\n c = 3\n d = 4\n e = 5"
        );
        let appended = set("", "ci", &[(CP, "x")]);
        assert_eq!(
            appended.diff("c").unwrap(),
            "--- c\n+++ c (after setup)\n@@ -0,0 +1,2 @@\n+[profile ci]\n+credential_process = x"
        );
        let no_nl = set("[profile ci]\nregion = x", "ci", &[(CP, "x")]);
        assert!(
            no_nl.diff("c").unwrap().contains(
                "-region = x\n\\ No newline at end of file\n+region = x\n+credential_process = x"
            ),
            "{}",
            no_nl.diff("c").unwrap()
        );
        assert_eq!(
            set("[profile ci]\ncredential_process = x\n", "ci", &[(CP, "x")]).diff("c"),
            None
        );
    }
}
