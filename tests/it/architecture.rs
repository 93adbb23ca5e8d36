//! The module graph ARCHITECTURE.md promises: no cycle between the top-level modules of `src/` in
//! production code (tests may reach anywhere). Read from the source, so adding an import that
//! closes a cycle fails here, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's production lines: comments dropped, and nothing from its `#[cfg(test)] mod` on.
fn production_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]"
                && lines[i + 1..]
                    .iter()
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| l.trim_start().starts_with("mod "))
        })
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect()
}

/// The top-level modules a line names as `crate::name`.
fn named_modules<'a>(line: &'a str, modules: &BTreeSet<String>) -> Vec<&'a str> {
    line.match_indices("crate::")
        .filter(|(at, _)| {
            // `crate::` itself, not the tail of an identifier such as `aws_ci_creds::`.
            !line[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .filter_map(|(at, _)| {
            let rest = &line[at + "crate::".len()..];
            let name = &rest[..rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len())];
            modules.contains(name).then_some(name)
        })
        .collect()
}

fn graph(src: &Path) -> Graph {
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() || (stem != "lib" && stem != "main") {
            modules.insert(stem);
        }
    }
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let top = relative.components().next().unwrap().as_os_str();
        let top = Path::new(top).file_stem().unwrap().to_string_lossy();
        let is_tests = relative
            .components()
            .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "tests.rs");
        if !modules.contains(top.as_ref()) || is_tests {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for line in production_lines(&text) {
            for name in named_modules(line, &modules) {
                if name != top {
                    graph
                        .entry(top.to_string())
                        .or_default()
                        .insert(name.to_string());
                }
            }
        }
    }
    graph
}

/// A path `from` → … → `from`, if one exists.
fn cycle_through(graph: &Graph, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in graph.get(last).into_iter().flatten() {
            if next == from {
                let mut cycle = path.clone();
                cycle.push(from.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_top_level_module_of_src_depends_on_itself_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    // The reader must see the graph, or this test could pass by finding nothing.
    assert!(graph["commands"].contains("flow"), "{graph:?}");
    assert!(graph["flow"].contains("config"), "{graph:?}");
    for module in graph.keys() {
        if let Some(cycle) = cycle_through(&graph, module) {
            panic!(
                "module cycle: {} (see ARCHITECTURE.md's code map: move the shared type to a leaf)",
                cycle.join(" -> ")
            );
        }
    }
}

#[test]
fn the_cycle_check_finds_a_cycle_when_there_is_one() {
    let mut graph = Graph::new();
    for (a, b) in [
        ("config", "setting"),
        ("source", "config"),
        ("config", "source"),
    ] {
        graph.entry(a.into()).or_default().insert(b.into());
    }
    assert_eq!(
        cycle_through(&graph, "config"),
        Some(vec!["config".into(), "source".into(), "config".into()])
    );
    assert_eq!(cycle_through(&graph, "setting"), None);
}

#[test]
fn imports_in_tests_and_comments_do_not_count() {
    let modules: BTreeSet<String> = ["cli", "config"].map(String::from).into();
    let text = "use crate::config::Config;\n// crate::cli in a comment\nfn f() {}\n\n#[cfg(test)]\n\nmod tests {\n    use crate::cli::Cli;\n}\n";
    let named: Vec<&str> = production_lines(text)
        .into_iter()
        .flat_map(|l| named_modules(l, &modules))
        .collect();
    assert_eq!(named, ["config"]);
    assert_eq!(
        named_modules("use aws_ci_creds::config;", &modules),
        Vec::<&str>::new()
    );
}
