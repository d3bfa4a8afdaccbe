//! Parity on the patterns of a real adopted platform (`tests/fixtures/adopter`, written in
//! our own words): parameters under `parameters_schema`, descriptive keys beside
//! constraints, a per-model table of fixed values, one flat request class shared by every
//! model, an `Enum` of model ids, and form controls bound by `value`/`onChange`. The clean
//! tree is silent; each planted drift is found at its `file:line` with its catalogue path;
//! changes that keep agreement stay silent; every configuration mistake is a
//! `config_error` (exit 2) at its `parity.toml` line.
#![cfg(feature = "parity")]

#[path = "support/planted.rs"]
mod planted;
#[path = "support/sample_tree.rs"]
mod sample_tree;

use std::path::{Path, PathBuf};

use inferwarden::parity::{check_tree, Format};
use planted::{line_of, planted_copy};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/adopter")
}

/// A copy of the fixture with `old` replaced by `new` (exactly once) in `file`, and the
/// line where the replacement starts.
fn planted(file: &str, old: &str, new: &str) -> (PathBuf, u32) {
    planted_copy(&fixture(), file, old, new)
}

#[test]
fn the_clean_adopter_tree_is_silent() {
    let run = check_tree(&fixture()).unwrap();
    assert!(
        run.report.findings.is_empty(),
        "{}",
        run.render(Format::Text)
    );
    assert!(
        run.report.facts_checked > 90,
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
    /// The finding is on this line instead of the planted one (a missing field is
    /// reported at its class).
    at_line_of: Option<&'static str>,
}

const SETTINGS: &str = "backend/settings.py";
const REQUESTS: &str = "backend/requests.py";
const PANEL: &str = "src/panel/Tuning.tsx";

const DRIFTS: &[Drift] = &[
    // A model list keeping its parameters under `parameters_schema`.
    Drift {
        file: SETTINGS,
        old: r#""default": "Heun", "label""#,
        new: r#""default": "LMS Karras", "label""#,
        rule: "default_differs",
        catalogue_path: Some("image_models.Painter_XL_v2.parameters.sampler.default"),
        at_line_of: None,
    },
    Drift {
        file: SETTINGS,
        old: r#""steps": {"type": "int", "default": 24, "min": 12, "max": 48}"#,
        new: r#""steps": {"type": "int", "default": 24, "min": 12, "max": 50}"#,
        rule: "range_differs",
        catalogue_path: Some("image_models.Lumen_nf4.parameters.steps.max"),
        at_line_of: None,
    },
    // Fixed parameters beside descriptive keys.
    Drift {
        file: SETTINGS,
        old: r#""steps": {"value": 6, "locked": True, "description""#,
        new: r#""steps": {"value": 30, "locked": True, "description""#,
        rule: "fixed_differs",
        catalogue_path: Some("video_models.Drift_Motion_3.fixed_parameters.steps.value"),
        at_line_of: None,
    },
    // A nested per-model table of fixed values.
    Drift {
        file: SETTINGS,
        old: r#""drift": {"steps": 6},"#,
        new: r#""drift": {"steps": 8},"#,
        rule: "fixed_differs",
        catalogue_path: Some("video_models.Drift_Motion_3.fixed_parameters.steps.value"),
        at_line_of: None,
    },
    Drift {
        file: SETTINGS,
        old: r#""drift": {"steps": 6},"#,
        new: r#""drift": {"steps": 6, "cfg_scale": 4.0},"#,
        rule: "parameter_extra",
        catalogue_path: Some("video_models.Drift_Motion_3.fixed_parameters"),
        at_line_of: None,
    },
    Drift {
        file: SETTINGS,
        old: r#""rapid": {"steps": 4, "cfg_scale": 1.0},"#,
        new: r#""rapid": {"steps": 4, "cfg_scale": 7.0},"#,
        rule: "fixed_differs",
        catalogue_path: Some("video_models.Rapid_Cut_v1.fixed_parameters.cfg_scale.value"),
        at_line_of: None,
    },
    // The shared flat request class: a parameter it lacks, a range wider than the union,
    // a default where the models disagree, options it does not restrict, an extra field.
    Drift {
        file: REQUESTS,
        old: "    motion_score: Optional[float] = Field(default=2.5, ge=0.0, le=5.0)\n",
        new: "",
        rule: "parameter_missing",
        catalogue_path: Some("video_models.Drift_Motion_3.parameters.motion_score"),
        at_line_of: Some("class CreateJob"),
    },
    Drift {
        file: REQUESTS,
        old: "steps: Optional[int] = Field(default=None, ge=4, le=60)",
        new: "steps: Optional[int] = Field(default=None, ge=1, le=60)",
        rule: "range_differs",
        catalogue_path: Some("video_models.Rapid_Cut_v1.fixed_parameters.steps.value"),
        at_line_of: None,
    },
    Drift {
        file: REQUESTS,
        old: "num_frames: Optional[int] = Field(default=65, ge=33, le=129)",
        new: "num_frames: Optional[int] = Field(default=65, ge=33, le=241)",
        rule: "range_differs",
        catalogue_path: Some("video_models.Drift_Motion_3.parameters.num_frames.max"),
        at_line_of: None,
    },
    Drift {
        file: REQUESTS,
        old: "steps: Optional[int] = Field(default=None, ge=4",
        new: "steps: Optional[int] = Field(default=28, ge=4",
        rule: "default_differs",
        catalogue_path: Some("image_models.Painter_XL_v2.parameters.steps.default"),
        at_line_of: None,
    },
    Drift {
        file: REQUESTS,
        old: r#"sampler: Optional[Literal["Heun", "LMS Karras", "Euler", "DDIM"]] = None"#,
        new: "sampler: Optional[str] = None",
        rule: "options_differ",
        catalogue_path: Some("image_models.Painter_XL_v2.parameters.sampler.options"),
        at_line_of: None,
    },
    Drift {
        file: REQUESTS,
        old: r#"output_format: Literal["mp4", "webm"] = "mp4""#,
        new: r#"output_format: Literal["mp4", "webm", "png"] = "mp4""#,
        rule: "options_differ",
        catalogue_path: Some("common.output_format.options"),
        at_line_of: None,
    },
    Drift {
        file: REQUESTS,
        old: "    grain: Optional",
        new: "    extras: Optional[str] = None\n    grain: Optional",
        rule: "parameter_extra",
        catalogue_path: None,
        at_line_of: None,
    },
    // An Enum naming every model.
    Drift {
        file: REQUESTS,
        old: "    rapid = \"rapid\"\n",
        new: "",
        rule: "model_missing",
        catalogue_path: Some("video_models.Rapid_Cut_v1"),
        at_line_of: Some("class ModelName"),
    },
    // Form controls bound by value/onChange.
    Drift {
        file: PANEL,
        old: "min={33} max={129} step={4} value={frameCount}",
        new: "min={16} max={129} step={4} value={frameCount}",
        rule: "range_differs",
        catalogue_path: Some("video_models.Drift_Motion_3.parameters.num_frames.min"),
        at_line_of: None,
    },
    Drift {
        file: PANEL,
        old: "step={0.5} value={params.motion_score}",
        new: "step={0.1} value={params.motion_score}",
        rule: "range_differs",
        catalogue_path: Some("video_models.Drift_Motion_3.parameters.motion_score.step"),
        at_line_of: None,
    },
    Drift {
        file: PANEL,
        old: "max={1280} step={64} value={params.width}",
        new: "max={2048} step={64} value={params.width}",
        rule: "range_differs",
        catalogue_path: Some("common.width.max"),
        at_line_of: None,
    },
    Drift {
        file: PANEL,
        old: r#"<option value="DDIM">DDIM</option>"#,
        new: r#"<option value="PLMS">PLMS</option>"#,
        rule: "options_differ",
        // Unscoped, the select serves every model with a sampler (in catalogue key order).
        catalogue_path: Some("image_models.Lumen_nf4.parameters.sampler.options"),
        at_line_of: Some(r#"<option value="Heun">"#),
    },
];

#[test]
fn each_planted_drift_is_found_once_at_its_line() {
    for d in DRIFTS {
        let (root, line) = planted(d.file, d.old, d.new);
        let run = check_tree(&root).unwrap();
        let text = run.render(Format::Text);
        assert_eq!(
            run.report.findings.len(),
            1,
            "{} -> {}:\n{text}",
            d.old,
            d.new
        );
        let f = &run.report.findings[0];
        assert_eq!(f.rule, d.rule, "{text}");
        assert_eq!(f.source.file, d.file, "{text}");
        let line = d.at_line_of.map_or(line, |n| line_of(&root, d.file, n));
        assert_eq!(f.source.line, line, "{text}");
        assert_eq!(f.catalogue_path.as_deref(), d.catalogue_path, "{text}");
        if d.catalogue_path.is_some() {
            assert!(f.catalogue_at.is_some(), "{text}");
        }
        assert_eq!(run.report.exit_code(), 1);
    }
}

#[test]
fn changes_that_keep_agreement_stay_silent() {
    let silent = [
        // Descriptive keys are never constraints.
        (SETTINGS, "tuned for the checkpoint", "any words at all"),
        (
            SETTINGS,
            r#""help": "more is livelier""#,
            r#""help": "less is calmer""#,
        ),
        (
            SETTINGS,
            r#""width": {"type": "int", "default": 768}"#,
            r#""width": {"type": "int", "default": 768, "label": "W", "placeholder": "px", "warning": "!"}"#,
        ),
        // None means "not sent": the model's own default applies.
        (
            REQUESTS,
            "motion_score: Optional[float] = Field(default=2.5",
            "motion_score: Optional[float] = Field(default=None",
        ),
        (
            REQUESTS,
            r#"grain: Optional[Literal["fine", "coarse"]] = "fine""#,
            r#"grain: Optional[Literal["fine", "coarse"]] = None"#,
        ),
        // A side some model leaves open (Drift's guidance is an unlocked fixed value) is
        // not compared: the shared class may bound it as it likes.
        (
            REQUESTS,
            "guidance_scale: Optional[float] = Field(default=None, ge=1.0, le=9.0)",
            "guidance_scale: Optional[float] = Field(default=None, ge=0.0, le=20.0)",
        ),
        // `X | None` is Optional[X].
        (
            REQUESTS,
            "fps: Optional[Literal[12, 24]] = 24",
            "fps: Literal[12, 24] | None = 24",
        ),
    ];
    for (file, old, new) in silent {
        let (root, _) = planted(file, old, new);
        let run = check_tree(&root).unwrap();
        assert!(
            run.report.findings.is_empty(),
            "{old} -> {new}:\n{}",
            run.render(Format::Text)
        );
    }
}

#[test]
fn each_config_mistake_is_an_input_error_at_its_line() {
    let cases = [
        (
            r#"CreateJob = ["#,
            r#"CreateJobs = ["#,
            "CreateJobs",
            "class `CreateJobs`",
        ),
        (
            r#""painter", "lumen","#,
            r#""painter", "lumenn","#,
            "lumenn",
            "model `lumenn`",
        ),
        (
            r#"path = "backend/settings.py""#,
            r#"path = "backend/setting.py""#,
            "backend/setting.py",
            "cannot read",
        ),
        (
            "VIDEO_FIXED =",
            "VIDEO_FIXES =",
            "VIDEO_FIXES",
            "table `VIDEO_FIXES`",
        ),
        (
            r#"model_sets = ["ModelName"]"#,
            r#"model_sets = ["ModelNames"]"#,
            "ModelNames",
            "model set `ModelNames`",
        ),
        (
            "frameCount = {",
            "frameCnt = {",
            "frameCnt",
            "binding `frameCnt`",
        ),
        (
            r#"parameter = "num_frames""#,
            r#"parameter = "frames""#,
            "frames",
            "not a parameter",
        ),
        (
            r#"models = ["drift", "rapid"]"#,
            r#"models = ["drift", "rapidd"]"#,
            "rapidd",
            "model `rapidd`",
        ),
    ];
    for (old, new, needle, message) in cases {
        let (root, _) = planted("parity.toml", old, new);
        let run = check_tree(&root).unwrap();
        let text = run.render(Format::Text);
        let errors: Vec<_> = run
            .report
            .findings
            .iter()
            .filter(|f| f.rule == "config_error")
            .collect();
        assert_eq!(errors.len(), 1, "{new}:\n{text}");
        let f = errors[0];
        assert_eq!(f.source.file, "parity.toml", "{text}");
        assert_eq!(
            f.source.line,
            line_of(&root, "parity.toml", needle),
            "{text}"
        );
        assert!(f.message.contains(message), "{}", f.message);
        assert_eq!(run.report.exit_code(), 2, "{text}");
        // A misnamed model is reported once, not once per fact about it.
        assert!(
            !run.report.findings.iter().any(|f| f.rule == "model_extra"),
            "{text}"
        );
    }
}

#[test]
fn a_missing_or_malformed_parity_toml_is_config_invalid() {
    let (root, _) = planted("parity.toml", "catalogue =", "catalogue =");
    std::fs::remove_file(root.join("parity.toml")).unwrap();
    let e = check_tree(&root).unwrap_err();
    assert_eq!(e.code_str(), "config_invalid");
    assert!(e.detail().contains("no parity.toml"), "{}", e.detail());

    let (root, _) = planted("parity.toml", "tables = {", "tablez = {");
    let e = check_tree(&root).unwrap_err();
    assert_eq!(e.code_str(), "config_invalid");
    let line = line_of(&root, "parity.toml", "tablez");
    assert!(
        e.detail().starts_with(&format!("parity.toml:{line}:")),
        "{}",
        e.detail()
    );
}

#[test]
fn junit_testcases_are_unique_when_findings_share_a_path() {
    // The same drift in the model list and in the table: one catalogue path, two findings.
    let (root, _) = planted(
        SETTINGS,
        r#""drift": {"steps": 6},"#,
        r#""drift": {"steps": 9},"#,
    );
    let text = std::fs::read_to_string(root.join(SETTINGS)).unwrap();
    std::fs::write(
        root.join(SETTINGS),
        text.replace(
            r#""steps": {"value": 6, "locked""#,
            r#""steps": {"value": 9, "locked""#,
        ),
    )
    .unwrap();
    let run = check_tree(&root).unwrap();
    assert_eq!(run.report.findings.len(), 2, "{}", run.render(Format::Text));
    let xml = run.render(Format::Junit);
    let mut cases: Vec<&str> = xml
        .lines()
        .filter(|l| l.trim_start().starts_with("<testcase "))
        .collect();
    assert_eq!(cases.len(), 2, "{xml}");
    cases.sort();
    cases.dedup();
    assert_eq!(cases.len(), 2, "{xml}");
}
