//! The host's module graph reads top-down: no module imports one that
//! imports it back, directly or around a cycle, and nothing imports `host`.
//! Checked here on the sources themselves (`crate::…` and `super::…`
//! paths), so `cargo test -p floe-host layering` shows a new cycle at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name (`lifecycle`, `runtime/state`) → the modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn module_name(relative: &Path) -> String {
    let text = relative
        .with_extension("")
        .to_string_lossy()
        .replace('\\', "/");
    text.strip_suffix("/mod").unwrap_or(&text).to_owned()
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = module_name(relative);
            if name != "main" && name != "lib" && name != "layering" {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.push((name, text));
            }
        }
    }
}

/// The names right under a `crate::` or `super::` path: `x` in `crate::x`,
/// `a`, `b` in `crate::{a, b::c}`.
fn names_after(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)];
    };
    let (mut depth, mut names, mut current) = (0usize, Vec::new(), String::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(ident(current.trim()));
                current.clear();
            }
            _ if depth == 0 => current.push(c),
            _ => {}
        }
    }
    names.push(ident(current.trim()));
    names
}

fn graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|(name, _)| name.clone()).collect();
    let mut graph = Graph::new();
    for (name, text) in &files {
        let top = name.split('/').next().unwrap_or(name);
        let parent = name.rsplit_once('/').map(|(p, _)| p);
        let edges = graph.entry(name.clone()).or_default();
        let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
        for line in code {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                for target in names_after(rest) {
                    if target == top {
                        // Inside its own tree: the sibling it names, if any.
                        let sub = rest[target.len()..].strip_prefix("::").map(names_after);
                        for sub in sub.into_iter().flatten() {
                            let nested = format!("{top}/{sub}");
                            if modules.contains(&nested) && &nested != name {
                                edges.insert(nested);
                            }
                        }
                    } else if modules.contains(&target) {
                        edges.insert(target);
                    }
                }
            }
            for (i, _) in line.match_indices("super::") {
                let Some(parent) = parent else { continue };
                for target in names_after(&line[i + "super::".len()..]) {
                    let sibling = format!("{parent}/{target}");
                    if modules.contains(&sibling) && &sibling != name {
                        edges.insert(sibling);
                    }
                }
            }
        }
    }
    graph
}

/// A cycle through `from`, if any, as the path around it.
fn cycle(graph: &Graph, from: &str) -> Option<Vec<String>> {
    fn walk(graph: &Graph, at: &str, path: &mut Vec<String>, seen: &mut BTreeSet<String>) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if path.first().is_some_and(|start| start == next) {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![from.to_owned()];
    walk(graph, from, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    assert!(graph.len() > 30, "found the modules: {:?}", graph.keys());
    for (module, edges) in &graph {
        assert!(
            !edges.contains("host"),
            "{module} imports `host`: pass it the handle it needs instead"
        );
        if let Some(cycle) = cycle(&graph, module) {
            panic!("a cycle of imports: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_parser_sees_groups_and_nested_paths() {
    assert_eq!(names_after("bus::Bus;"), ["bus"]);
    assert_eq!(
        names_after("{control, heartbeat::spawn, x::{a, b}};"),
        ["control", "heartbeat", "x"]
    );
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("a".into());
    assert_eq!(
        cycle(&graph, "a"),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    graph.get_mut("b").map(|e| e.remove("a"));
    assert_eq!(cycle(&graph, "a"), None);
}
