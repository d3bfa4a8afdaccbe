//! The crate's top-level modules form no cycle: each `crate::X` path in a module's files is
//! an edge, and the graph must be acyclic (configuration, the workspace rules, errors and
//! the audit log each depend one way). A new cycle fails here with the modules that form it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        out.extend(rust_files(&entry.unwrap().path()));
    }
    out.retain(|p| p.extension().is_some_and(|e| e == "rs"));
    out
}

/// Module -> the other top-level modules its code names (comments left out).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" {
            continue;
        }
        let mut deps = BTreeSet::new();
        for file in rust_files(&path) {
            for line in std::fs::read_to_string(file).unwrap().lines() {
                let code = line.split("//").next().unwrap_or("");
                for part in code.split("crate::").skip(1) {
                    let dep: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !dep.is_empty() && dep != name {
                        deps.insert(dep);
                    }
                }
            }
        }
        graph.insert(name, deps);
    }
    graph
}

/// The first cycle found, if any (depth-first search).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut c = path[at..].to_vec();
            c.push(node.to_owned());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for dep in g.get(node).into_iter().flatten() {
            if g.contains_key(dep) {
                if let Some(c) = visit(g, dep, path, done) {
                    return Some(c);
                }
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(graph, n, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_form_no_cycle() {
    let g = graph();
    assert!(g.len() > 10, "read the modules: {:?}", g.keys());
    assert_eq!(cycle(&g), None, "module cycle");
}

#[test]
fn the_leaf_rules_depend_on_nothing_above_them() {
    let g = graph();
    let allowed = |m: &str, deps: &[&str]| {
        let extra: Vec<_> = g[m]
            .iter()
            .filter(|d| !deps.contains(&d.as_str()))
            .collect();
        assert!(extra.is_empty(), "{m} depends on {extra:?}");
    };
    allowed("error", &[]);
    allowed("metrics", &["error"]);
    allowed("no_wait", &["error"]);
    allowed("workspace", &["error", "task_ref"]);
    assert!(!g["config"].contains("routing") && !g["config"].contains("audit"));
}

#[test]
fn the_search_finds_a_planted_cycle() {
    let mut g = graph();
    g.get_mut("error").unwrap().insert("legacy".into());
    let c = cycle(&g).expect("error -> legacy -> error");
    assert!(c.contains(&"legacy".to_owned()) && c.contains(&"error".to_owned()));
}
