//! The module graph ARCHITECTURE.md promises: no cycle between the top-level modules of `src/` in
//! production code (tests may reach anywhere), and a code map whose "Imports" lines are exactly
//! what each module imports. Read from the source, so an import that closes a cycle, or one the
//! map does not list, fails here, naming it.

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

/// The top-level modules: `src/x.rs` and `src/x/`, but not the crate roots.
fn modules(src: &Path) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() || (stem != "lib" && stem != "main") {
            modules.insert(stem);
        }
    }
    modules
}

fn graph(src: &Path) -> Graph {
    let modules = modules(src);
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

/// What ARCHITECTURE.md's code map says each module imports: its bullets' `Imports …` sentences
/// (for every module the bullet is about) and `` `a` imports … `` / `` `a` and `b` import … ``
/// ones (for those named), `nothing` for none. Modules a bullet names without such a sentence
/// map to `None`.
fn code_map(architecture: &str) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let section = architecture
        .split("## Code map")
        .nth(1)
        .and_then(|rest| rest.split("\n**").next())
        .expect("ARCHITECTURE.md has a ## Code map section");
    let mut map = BTreeMap::new();
    for bullet in section.split("\n- ").skip(1) {
        let bullet = bullet.replace("\n  ", " ");
        let Some((head, body)) = bullet.split_once(": ") else {
            continue;
        };
        let head = head.split('(').next().unwrap();
        let subjects: Vec<String> = ticked(head)
            .into_iter()
            .map(|m| m.trim_end_matches('/').trim_end_matches(".rs").to_string())
            .collect();
        for name in &subjects {
            map.entry(name.clone()).or_insert(None);
        }
        for sentence in body.split(". ").flat_map(|s| s.split("; ")) {
            let verb = [" imports ", " import ", "Imports "]
                .into_iter()
                .find_map(|v| sentence.find(v).map(|at| (at, v)));
            let Some((at, verb)) = verb else {
                continue;
            };
            let named = ticked(&sentence[..at]);
            let who = if named.is_empty() {
                subjects.clone()
            } else {
                named
            };
            let objects = &sentence[at + verb.len()..];
            let objects = objects.split('(').next().unwrap();
            let imports: BTreeSet<String> = if objects.starts_with("nothing") {
                BTreeSet::new()
            } else {
                ticked(objects).into_iter().collect()
            };
            for name in who {
                map.insert(name, Some(imports.clone()));
            }
        }
    }
    map
}

/// The `backticked` words of a text.
fn ticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_code_map_lists_every_module_and_exactly_what_it_imports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = graph(&root.join("src"));
    let map = code_map(&std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap());
    let mut wrong = Vec::new();
    for module in modules(&root.join("src")) {
        let real = graph.get(&module).cloned().unwrap_or_default();
        match map.get(&module) {
            None => wrong.push(format!("`{module}` is not in the code map")),
            Some(None) => {} // described without an import list (`commands/`: "most modules")
            Some(Some(said)) if *said != real => wrong.push(format!(
                "`{module}`: the map says it imports {said:?}, it imports {real:?}"
            )),
            Some(Some(_)) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "ARCHITECTURE.md's code map is out of date (fix the map, or the import):\n{}",
        wrong.join("\n")
    );
    // The reader must understand the map, or this test could pass by reading nothing.
    assert_eq!(map["exit_code"], Some(BTreeSet::new()));
    assert!(map["net"].as_ref().unwrap().contains("setting"));
}

#[test]
fn the_code_map_reader_takes_shared_and_per_module_sentences() {
    let doc = "## Code map\n\n- `a`, `b`: two leaves. Imports nothing.\n- `c/` (`c/mod.rs`): uses\n  more. `c` imports `a`,\n  `b` (not `d`).\n- `e`: the top: it uses most modules.\n- `f`, `g`: a pair. `f` imports `g`; `g` imports nothing.\n\n**Rules**";
    let map = code_map(doc);
    let set = |names: &[&str]| Some(names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>());
    assert_eq!(map["a"], set(&[]));
    assert_eq!(map["b"], set(&[]));
    assert_eq!(map["c"], set(&["a", "b"]));
    assert_eq!(map["e"], None);
    assert_eq!(map["f"], set(&["g"]));
    assert_eq!(map["g"], set(&[]));
    assert_eq!(map.len(), 6);
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
