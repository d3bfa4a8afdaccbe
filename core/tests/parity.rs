//! The parity checker on the sample platform (`examples/platform`): the clean tree has no
//! findings; each planted drift gives exactly the expected finding, at the right source line
//! and catalogue path; syntax errors are findings with locations (exit 2); every output
//! format is well-formed.
#![cfg(feature = "parity")]

#[path = "support/planted.rs"]
mod planted;
#[path = "support/sample_tree.rs"]
mod sample_tree;

use std::path::PathBuf;

use planted::{line_of, planted_copy};
use sample_tree::sample;

use inferwarden::parity::{check_tree, Format, ParityRun, Severity};

/// A copy of the sample tree with `old` replaced by `new` (exactly once) in `file`.
fn planted(file: &str, old: &str, new: &str) -> PathBuf {
    planted_at(file, old, new).0
}

/// [`planted`], also returning the line where the replacement ends.
fn planted_at(file: &str, old: &str, new: &str) -> (PathBuf, u32) {
    let (root, start) = planted_copy(&sample(), file, old, new);
    (root, start + new.matches('\n').count() as u32)
}

#[test]
fn the_clean_sample_has_no_findings() {
    let run = check_tree(&sample()).unwrap();
    assert!(
        run.report.findings.is_empty(),
        "{}",
        run.render(Format::Text)
    );
    assert!(
        run.report.facts_checked > 80,
        "{}",
        run.report.facts_checked
    );
    assert_eq!(run.report.exit_code(), 0);
}

struct Drift {
    file: &'static str,
    old: &'static str,
    new: &'static str,
    rule: &'static str,
    catalogue_path: Option<&'static str>,
}

const DRIFTS: &[Drift] = &[
    Drift {
        file: "backend/config.py",
        old: r#""default": 28, "min": 1, "max": 50"#,
        new: r#""default": 28, "min": 1, "max": 60"#,
        rule: "range_differs",
        catalogue_path: Some("image_models.flux-dev.parameters.steps.max"),
    },
    Drift {
        file: "backend/config.py",
        old: r#""default": 28,"#,
        new: r#""default": 30,"#,
        rule: "default_differs",
        catalogue_path: Some("image_models.flux-dev.parameters.steps.default"),
    },
    Drift {
        file: "backend/config.py",
        old: r#"{"steps": {"value": 8, "locked": True}"#,
        new: r#"{"steps": {"value": 50, "locked": True}"#,
        rule: "fixed_differs",
        catalogue_path: Some("video_models.wan-2.2.fixed_parameters.steps.value"),
    },
    Drift {
        file: "backend/config.py",
        old: r#""modes": ["t2i", "i2i"]"#,
        new: r#""modes": ["t2i"]"#,
        rule: "mode_set_differs",
        catalogue_path: Some("image_models.sdxl-turbo.modes"),
    },
    Drift {
        file: "backend/config.py",
        old: r#""options": ["480p", "720p"]"#,
        new: r#""options": ["480p", "720p", "1080p"]"#,
        rule: "options_differ",
        catalogue_path: Some("video_models.wan-2.2.parameters.resolution.options"),
    },
    Drift {
        file: "backend/config.py",
        old: r#"{"wan-remix": "phr00t"}"#,
        new: r#"{"wan-remix": "ltx-video"}"#,
        rule: "alias_differs",
        catalogue_path: Some("aliases.wan-remix"),
    },
    Drift {
        file: "backend/config.py",
        old: "\"id\": \"flux-dev\",\n        \"type\": \"image\"",
        new: "\"id\": \"flux-dev\",\n        \"type\": \"video\"",
        rule: "type_differs",
        catalogue_path: Some("image_models.flux-dev.type"),
    },
    Drift {
        file: "backend/schemas.py",
        old: "width: int = Field(default=1024, ge=512",
        new: "width: int = Field(default=1024, ge=256",
        rule: "range_differs",
        catalogue_path: Some("image_models.flux-dev.parameters.width.min"),
    },
    Drift {
        file: "backend/schemas.py",
        old: r#"Literal["phr00t", "wan-remix"]"#,
        new: r#"Literal["phr00t", "wan-classic"]"#,
        rule: "alias_differs",
        catalogue_path: Some("video_models.wan-2.2.id"),
    },
    Drift {
        file: "src/configManager.ts",
        old: " | 'ltx-video'",
        new: "",
        rule: "model_missing",
        catalogue_path: Some("video_models.ltx-video"),
    },
    Drift {
        file: "src/configManager.ts",
        old: "'flux-dev' | ",
        new: "'flux-dev' | 'sd3' | ",
        rule: "model_extra",
        catalogue_path: None,
    },
    Drift {
        file: "src/configManager.ts",
        old: "{ steps: 28,",
        new: "{ steps: 20,",
        rule: "default_differs",
        catalogue_path: Some("image_models.flux-dev.parameters.steps.default"),
    },
    Drift {
        file: "src/components/GenerationForm.tsx",
        old: "max={50}",
        new: "max={64}",
        rule: "range_differs",
        catalogue_path: Some("image_models.flux-dev.parameters.steps.max"),
    },
    Drift {
        file: "backend/config.py",
        old: r#""num_frames": {"type": "int", "default": 97"#,
        new: r#""frames": {"type": "int", "default": 97"#,
        rule: "parameter_extra",
        catalogue_path: Some("video_models.ltx-video.parameters"),
    },
];

#[test]
fn each_planted_drift_gives_exactly_its_finding_with_both_locations() {
    for d in DRIFTS {
        let (root, line) = planted_at(d.file, d.old, d.new);
        let run = check_tree(&root).unwrap();
        let text = run.render(Format::Text);
        let errors: Vec<_> = run
            .report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert_eq!(errors.len(), 1, "{} ({}): {text}", d.rule, d.new);
        let f = errors[0];
        assert_eq!(f.rule, d.rule, "{text}");
        assert_eq!(f.catalogue_path.as_deref(), d.catalogue_path, "{text}");
        assert_eq!(f.source.file, d.file);
        assert_eq!(f.source.line, line, "{}: {text}", d.rule);
        if let Some(path) = d.catalogue_path {
            let at = f
                .catalogue_at
                .as_ref()
                .unwrap_or_else(|| panic!("{path} has no location"));
            assert_eq!(at.file, "src/inference_settings.json");
            let key = path.rsplit('.').next().unwrap();
            let line = std::fs::read_to_string(root.join(&at.file))
                .unwrap()
                .lines()
                .nth(at.line as usize - 1)
                .unwrap()
                .to_owned();
            assert!(
                line.contains(key) || path == "video_models.ltx-video",
                "{path} -> line {}: {line}",
                at.line
            );
        }
        assert_eq!(run.report.exit_code(), 1);
    }
}

#[test]
fn a_hard_coded_model_comparison_is_a_warning() {
    let root = planted(
        "src/components/GenerationForm.tsx",
        "export function FramesInput() {",
        "export function FramesInput({ model }: { model: string }) {\n  if (model === 'phr00t') { return null }",
    );
    let run = check_tree(&root).unwrap();
    assert_eq!(run.report.findings.len(), 1, "{}", run.render(Format::Text));
    let f = &run.report.findings[0];
    assert_eq!(
        (f.rule, f.severity),
        ("hardcoded_model_in_ui", Severity::Warning)
    );
    assert_eq!(
        f.source.line,
        line_of(
            &root,
            "src/components/GenerationForm.tsx",
            "model === 'phr00t'"
        )
    );
    assert_eq!(run.report.exit_code(), 0);
}

#[test]
fn syntax_errors_are_findings_with_locations_and_exit_2() {
    for (file, old, new) in [
        (
            "backend/schemas.py",
            "class WanRequest(BaseModel):",
            "class WanRequest(BaseModel:",
        ),
        (
            "src/configManager.ts",
            "export type GenerationType = 'image' | 'video'",
            "export type GenerationType = 'image' |",
        ),
    ] {
        let root = planted(file, old, new);
        let run = check_tree(&root).unwrap();
        let parse: Vec<_> = run
            .report
            .findings
            .iter()
            .filter(|f| f.rule == "source_parse_error")
            .collect();
        assert!(!parse.is_empty(), "{}", run.render(Format::Text));
        assert_eq!(parse[0].source.file, file);
        assert!(parse[0].source.line >= line_of(&root, file, new.lines().next().unwrap()));
        assert_eq!(run.report.exit_code(), 2);
    }
}

#[test]
fn columns_count_characters_not_bytes() {
    let root = planted(
        "backend/config.py",
        r#""default": 28, "min": 1, "max": 50"#,
        r#""default": 28, "min": 1, "max": 60, "help": "Schritte für Überblick""#,
    );
    // The drifted value is before the Unicode text; move Unicode before it instead.
    let path = root.join("backend/config.py");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        r#""steps": {"type": "int", "default": 28"#,
        r#""steps": {"label": "Schrittzähler ✓", "type": "int", "default": 28"#,
    );
    std::fs::write(&path, text).unwrap();
    let run = check_tree(&root).unwrap();
    let f = run
        .report
        .findings
        .iter()
        .find(|f| f.rule == "range_differs")
        .unwrap();
    let line = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .nth(f.source.line as usize - 1)
        .unwrap()
        .to_owned();
    let byte = line.find("60").unwrap();
    assert_eq!(f.source.column as usize, line[..byte].chars().count() + 1);
}

fn drifted_run() -> ParityRun {
    let root = planted(
        "backend/config.py",
        r#""default": 28, "min": 1, "max": 50"#,
        r#""default": 28, "min": 1, "max": 60"#,
    );
    check_tree(&root).unwrap()
}

#[test]
fn json_output_is_versioned() {
    let run = drifted_run();
    let v: serde_json::Value = serde_json::from_str(&run.render(Format::Json)).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["findings"][0]["rule"], "range_differs");
    assert_eq!(v["findings"][0]["expected"], 50);
    assert_eq!(v["findings"][0]["found"], 60);
}

#[test]
fn sarif_output_has_the_2_1_0_shape() {
    let v: serde_json::Value = serde_json::from_str(&drifted_run().render(Format::Sarif)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "inferwarden-parity");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let result = &run["results"][0];
    assert!(rules.contains(&result["ruleId"].as_str().unwrap()));
    assert!(["error", "warning", "note", "none"].contains(&result["level"].as_str().unwrap()));
    assert!(result["message"]["text"].is_string());
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "backend/config.py");
    assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
    assert!(loc["region"]["startColumn"].as_u64().unwrap() >= 1);
    assert_eq!(
        result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/inference_settings.json"
    );
}

#[test]
fn junit_and_github_outputs() {
    let run = drifted_run();
    let xml = run.render(Format::Junit);
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("tests=\"1\" failures=\"1\""), "{xml}");
    assert!(xml.contains("<failure message="), "{xml}");
    assert_eq!(xml.matches("<testcase").count(), 1);
    let gh = run.render(Format::Github);
    assert!(
        gh.starts_with("::error file=backend/config.py,line="),
        "{gh}"
    );
    assert!(gh.contains("title=range_differs::"), "{gh}");
    assert_eq!(gh.lines().count(), 1);
}

#[test]
fn deeply_nested_sources_never_crash_the_check() {
    let deep = 20_000;
    let root = planted(
        "backend/config.py",
        "MODEL_ALIASES = {",
        &format!(
            "DEEP = {}{}\nMODEL_ALIASES = {{",
            "[".repeat(deep),
            "]".repeat(deep)
        ),
    );
    let ts = root.join("src/configManager.ts");
    let text = std::fs::read_to_string(&ts).unwrap();
    std::fs::write(
        &ts,
        format!(
            "{text}\nexport const deep = {}1{}\nexport const chain = a{}\n",
            "[".repeat(deep),
            "]".repeat(deep),
            ".b".repeat(deep)
        ),
    )
    .unwrap();
    let run = check_tree(&root).unwrap();
    // Either parser may refuse such nesting (a located finding, exit 2); nothing may crash,
    // and nothing else may be reported.
    assert!(
        run.report
            .findings
            .iter()
            .all(|f| f.rule == "source_parse_error"),
        "{}",
        run.render(Format::Text)
    );
}

#[test]
fn colour_only_when_asked_and_only_in_text() {
    let run = drifted_run();
    let plain = run.render(Format::Text);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    let coloured = run.render_coloured(Format::Text, true);
    assert!(
        coloured.contains("\u{1b}[1;31merror[range_differs]\u{1b}[0m"),
        "{coloured}"
    );
    assert!(!run.render_coloured(Format::Json, true).contains('\u{1b}'));
    assert!(!run.render_coloured(Format::Github, true).contains('\u{1b}'));
}

/// The sample tree with `config.py` repeated `py` times (renamed copies) and the form
/// component repeated `tsx` times; returns the root.
fn repeated_tree(py: usize, tsx: usize) -> PathBuf {
    let root = planted(
        "backend/config.py",
        "MODEL_ALIASES = {",
        "MODEL_ALIASES = {",
    );
    let unit = std::fs::read_to_string(root.join("backend/config.py")).unwrap();
    let text: String = (0..py)
        .map(|i| unit.replace("MODELS_SCHEMA", &format!("MODELS_SCHEMA_{i}")))
        .collect();
    std::fs::write(root.join("backend/config.py"), text).unwrap();
    let form = root.join("src/components/GenerationForm.tsx");
    let unit = std::fs::read_to_string(&form).unwrap();
    std::fs::write(&form, unit.repeat(tsx)).unwrap();
    root
}

#[test]
fn a_one_megabyte_source_of_each_language_is_checked_completely() {
    let facts = |py, tsx| {
        check_tree(&repeated_tree(py, tsx))
            .unwrap()
            .report
            .facts_checked
    };
    let base = facts(1, 1);
    let (per_py, per_tsx) = (facts(2, 1) - base, facts(1, 2) - base);
    assert!(per_py > 50 && per_tsx > 5, "{per_py} {per_tsx}");
    let py_unit = std::fs::metadata(sample().join("backend/config.py"))
        .unwrap()
        .len() as usize;
    let tsx_unit = std::fs::metadata(sample().join("src/components/GenerationForm.tsx"))
        .unwrap()
        .len() as usize;
    let (py, tsx) = ((1 << 20) / py_unit + 1, (1 << 20) / tsx_unit + 1);
    let run = check_tree(&repeated_tree(py, tsx)).unwrap();
    assert!(
        run.report.findings.is_empty(),
        "{}",
        run.render(Format::Text)
    );
    // Every copy contributes all of its facts: nothing is skipped in a big file.
    assert_eq!(
        run.report.facts_checked,
        base + (py - 1) * per_py + (tsx - 1) * per_tsx
    );
}

#[test]
fn a_parser_panic_is_the_files_error_not_a_crash() {
    // Found by the parity_typescript fuzz target: a `#__PURE__` comment in this position
    // trips a debug assertion inside oxc's lexer. The checker reports the file instead.
    let text = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fuzz/regressions/parity_typescript/oxc-pure-comment-debug-assertion"),
    )
    .unwrap();
    let text = String::from_utf8_lossy(&text);
    let source: inferwarden::parity::TypeScriptSource =
        serde_json::from_value(serde_json::json!({"path": "src/App.tsx"})).unwrap();
    let facts = inferwarden::parity::extract_typescript(
        &source,
        &text,
        &Default::default(),
        &Default::default(),
    );
    if cfg!(debug_assertions) {
        assert!(
            facts
                .errors
                .iter()
                .any(|e| e.message.contains("internal parser error")),
            "{:?}",
            facts.errors
        );
    }
}

#[test]
fn brackets_nested_too_deep_are_the_files_error_not_a_hang() {
    // Found by the parity_typescript fuzz target: 561 bytes of unclosed `[` between `a<b`
    // comparisons took oxc's parser 1.5 s (release; 14 s in the fuzz build), growing about
    // 3.5 times per 50 more bytes. The checker refuses such nesting before parsing.
    let text = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fuzz/regressions/parity_typescript/oxc-exponential-nested-brackets"),
    )
    .unwrap();
    let text = String::from_utf8_lossy(&text);
    let source: inferwarden::parity::TypeScriptSource =
        serde_json::from_value(serde_json::json!({"path": "src/App.tsx"})).unwrap();
    let started = std::time::Instant::now();
    let facts = inferwarden::parity::extract_typescript(
        &source,
        &text,
        &Default::default(),
        &Default::default(),
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
    assert!(
        facts
            .errors
            .iter()
            .any(|e| e.message.contains("nested deeper than 128 levels")),
        "{:?}",
        facts.errors
    );
    // The same input inside a template substitution, after a stray apostrophe (JSX text)
    // or in a string is still refused: brackets in text count too.
    for hidden in [
        format!("const t = `${{{text}}}`;"),
        format!("const p = <p>Don't {text}</p>;"),
        format!("const q = 'x' + \"{text}\";"),
    ] {
        let facts = inferwarden::parity::extract_typescript(
            &source,
            &hidden,
            &Default::default(),
            &Default::default(),
        );
        assert!(
            facts
                .errors
                .iter()
                .any(|e| e.message.contains("nested deeper")),
            "{:?}",
            facts.errors
        );
    }
    // Deep but legitimate nesting (within the bound; brackets in comments not counted, a
    // `//` inside a string not taken for a comment) is still parsed.
    let deep = format!(
        "// {}\n/* {} */\nconst u = \"http://x/(\"; const v = \")\";\nexport const x = {}1{};\n",
        "[".repeat(300),
        "(".repeat(300),
        "[".repeat(100),
        "]".repeat(100)
    );
    let facts = inferwarden::parity::extract_typescript(
        &source,
        &deep,
        &Default::default(),
        &Default::default(),
    );
    assert!(facts.errors.is_empty(), "{:?}", facts.errors);
}
