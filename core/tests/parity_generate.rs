//! Tests for `parity/generate.rs`: the committed sample mirrors are current, `--check`
//! reports stale and missing files without writing, writing makes them current, and the
//! generated sources agree with the catalogue under the parity check itself.
#![cfg(feature = "parity")]

#[path = "support/sample_tree.rs"]
mod sample_tree;

use std::path::{Path, PathBuf};

use sample_tree::{copy_tree, sample};

use inferwarden::parity::{check_tree, generate_tree};
use inferwarden::ErrorCode;

fn scratch(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("iw-generate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    copy_tree(&sample(), &root);
    root
}

fn statuses(root: &Path, write: bool) -> Vec<(String, &'static str)> {
    generate_tree(root, write)
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.status))
        .collect()
}

#[test]
fn the_committed_sample_mirrors_are_up_to_date() {
    assert_eq!(
        statuses(&sample(), false),
        [
            ("src/generated/catalogue.ts".to_owned(), "up_to_date"),
            ("backend/generated_catalogue.py".to_owned(), "up_to_date")
        ],
        "run `inferwarden parity generate examples/platform`"
    );
}

#[test]
fn check_reports_stale_and_missing_and_writing_fixes_them() {
    let root = scratch("stale");
    std::fs::remove_file(root.join("src/generated/catalogue.ts")).unwrap();
    let catalogue = root.join("src/inference_settings.json");
    let text = std::fs::read_to_string(&catalogue).unwrap();
    std::fs::write(&catalogue, text.replacen("\"max\": 50", "\"max\": 60", 1)).unwrap();
    let before = std::fs::read_to_string(root.join("backend/generated_catalogue.py")).unwrap();
    assert_eq!(
        statuses(&root, false),
        [
            ("src/generated/catalogue.ts".to_owned(), "missing"),
            ("backend/generated_catalogue.py".to_owned(), "stale")
        ]
    );
    assert!(
        !root.join("src/generated/catalogue.ts").exists(),
        "--check writes nothing"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("backend/generated_catalogue.py")).unwrap(),
        before
    );
    assert!(statuses(&root, true).iter().all(|(_, s)| *s == "written"));
    assert!(statuses(&root, false)
        .iter()
        .all(|(_, s)| *s == "up_to_date"));
    let py = std::fs::read_to_string(root.join("backend/generated_catalogue.py")).unwrap();
    assert!(
        py.contains("steps: int = Field(default=28, ge=1, le=60)"),
        "{py}"
    );
}

#[test]
fn generated_mirrors_agree_with_the_catalogue_under_the_check() {
    // examples/platform/parity.toml lists both generated files as sources.
    let run = check_tree(&sample()).unwrap();
    assert!(run
        .report
        .sources
        .contains(&"backend/generated_catalogue.py".to_owned()));
    assert!(run
        .report
        .sources
        .contains(&"src/generated/catalogue.ts".to_owned()));
    assert!(
        run.report.findings.is_empty(),
        "{}",
        run.render(inferwarden::parity::Format::Text)
    );
}

#[test]
fn no_generate_targets_is_a_config_error() {
    let root = scratch("no-targets");
    let toml = std::fs::read_to_string(root.join("parity.toml")).unwrap();
    let cut = toml.find("[generate]").unwrap();
    std::fs::write(root.join("parity.toml"), &toml[..cut]).unwrap();
    assert_eq!(
        generate_tree(&root, false).unwrap_err().code(),
        ErrorCode::ConfigInvalid
    );
}

/// The adopter fixture with a `[generate]` table in `shape`, generated.
fn adopter_generated(shape: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!(
        "iw-generate-{}-adopter-{shape}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/adopter"),
        &root,
    );
    let toml = root.join("parity.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        format!("{text}\n[generate]\ntypescript = \"gen/catalogue.ts\"\npython = \"gen/catalogue.py\"\nrequest_shape = \"{shape}\"\n"),
    )
    .unwrap();
    generate_tree(&root, true).unwrap();
    root
}

#[test]
fn the_mirrors_agree_on_what_is_required() {
    let root = adopter_generated("nested");
    let ts = std::fs::read_to_string(root.join("gen/catalogue.ts")).unwrap();
    let py = std::fs::read_to_string(root.join("gen/catalogue.py")).unwrap();
    // `prompt` is required with a default (the form's initial value): required in both.
    assert!(ts.contains("  \"prompt\": string\n"), "{ts}");
    assert!(
        py.contains("    prompt: str = Field(..., max_length=1500)"),
        "{py}"
    );
    // `seed` has a default and is not required: optional in both.
    assert!(ts.contains("  \"seed\"?: number\n"), "{ts}");
    assert!(py.contains("    seed: int = Field(default=-1,"), "{py}");
    // A locked float is bounded to its value (`Literal[1.0]` is not a type for mypy).
    assert!(
        py.contains("    cfg_scale: float = Field(default=1.0, ge=1.0, le=1.0)"),
        "{py}"
    );
    assert!(!py.contains("Literal[1.0]"), "{py}");
}

#[test]
fn a_flat_request_model_restates_its_parameters_and_passes_the_check() {
    let root = adopter_generated("flat");
    let ts = std::fs::read_to_string(root.join("gen/catalogue.ts")).unwrap();
    let py = std::fs::read_to_string(root.join("gen/catalogue.py")).unwrap();
    assert!(
        ts.contains("export interface RapidRequest extends RapidParameters {"),
        "{ts}"
    );
    let request = py.split("class RapidRequest(BaseModel):").nth(1).unwrap();
    assert!(
        request.contains("    grain: Literal[\"fine\", \"coarse\"]"),
        "{request}"
    );
    assert!(!request.contains("parameters:"), "{request}");
    // Checked like a hand-written mirror, each flat class against its one model.
    let toml = root.join("parity.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace(
            "[generate]",
            "[[python]]\npath = \"gen/catalogue.py\"\nmodels = { PainterRequest = \"painter\", LumenRequest = \"lumen\", DriftRequest = \"drift\", RapidRequest = \"rapid\" }\n\n[[typescript]]\npath = \"gen/catalogue.ts\"\n\n[generate]",
        ),
    )
    .unwrap();
    let run = check_tree(&root).unwrap();
    assert!(
        run.report.findings.is_empty(),
        "{}",
        run.render(inferwarden::parity::Format::Text)
    );
}
