//! The metrics contract: the families the core declares are exactly those pinned in
//! `tests/vectors/metrics.json` (name, type, label names, in order), and the exposition
//! `render()` writes declares each of them once and only carries samples whose names and
//! label names those declarations allow. The Python and Node suites check the same file
//! against their surfaces.

use std::collections::{BTreeMap, BTreeSet};

use inferwarden::metrics::{families, render};
use inferwarden_tests::load_vectors;
use serde_json::Value;

#[test]
fn declared_families_match_the_golden_file() {
    let doc = load_vectors("metrics.json");
    let pinned = doc["families"].as_array().unwrap();
    let declared = families();
    let as_json: Vec<Value> = declared
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": f.name,
                "type": f.kind.as_str(),
                "labels": f.labels,
            })
        })
        .collect();
    assert_eq!(
        &as_json, pinned,
        "metric families differ from tests/vectors/metrics.json (a rename breaks dashboards: \
         update the file, CHANGELOG and examples/grafana together)"
    );
}

/// The sample name and its label names of one exposition line.
fn parse_sample(line: &str) -> (String, BTreeSet<String>) {
    let (name_and_labels, value) = line.rsplit_once(' ').expect("a sample has a value");
    value
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("not a number: {line}"));
    match name_and_labels.split_once('{') {
        None => (name_and_labels.to_owned(), BTreeSet::new()),
        Some((name, rest)) => {
            let body = rest.strip_suffix('}').expect("labels end with }");
            let mut labels = BTreeSet::new();
            let mut in_value = false;
            let mut escaped = false;
            let mut current = String::new();
            for c in body.chars() {
                if in_value {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        in_value = false;
                    }
                } else if c == '=' {
                    labels.insert(std::mem::take(&mut current));
                } else if c == '"' {
                    in_value = true;
                } else if c != ',' {
                    current.push(c);
                }
            }
            (name.to_owned(), labels)
        }
    }
}

#[test]
fn the_exposition_declares_every_family_once_and_only_its_samples() {
    let text = render();
    assert!(text.ends_with("# EOF\n"), "the exposition ends with # EOF");
    let declared: BTreeMap<&str, (&str, BTreeSet<String>)> = families()
        .iter()
        .map(|f| {
            (
                f.name,
                (
                    f.kind.as_str(),
                    f.labels.iter().map(|l| (*l).to_owned()).collect(),
                ),
            )
        })
        .collect();
    let mut typed = Vec::new();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            let (want_kind, _) = declared
                .get(name)
                .unwrap_or_else(|| panic!("undeclared family {name}"));
            assert_eq!(kind, *want_kind, "{name}");
            typed.push(name.to_owned());
            current = declared.get_key_value(name).map(|(k, _)| *k);
            continue;
        }
        if line.starts_with("# HELP ") || line == "# EOF" {
            continue;
        }
        let family = current.expect("a sample after its # TYPE");
        let (kind, labels) = &declared[family];
        let (name, mut got) = parse_sample(line);
        let suffixes: &[&str] = match *kind {
            "counter" => &["_total"],
            "gauge" => &[""],
            _ => &["_bucket", "_count", "_sum"],
        };
        assert!(
            suffixes.iter().any(|s| name == format!("{family}{s}")),
            "sample {name} under family {family}"
        );
        if name.ends_with("_bucket") {
            assert!(got.remove("le"), "a bucket has le: {line}");
        }
        assert_eq!(&got, labels, "label names of {line}");
    }
    let want: Vec<String> = families().iter().map(|f| f.name.to_owned()).collect();
    assert_eq!(typed, want, "every family declared once, in order");
}
