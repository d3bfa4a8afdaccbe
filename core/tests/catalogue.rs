//! Tests for `catalogue/`: the sample platform catalogue loads and self-checks clean, the
//! condition language, and request validation that reports every violation.

#[path = "support/sample_tree.rs"]
mod sample_tree;

use inferwarden::catalogue::{
    validate_request, Catalogue, CatalogueOptions, Condition, InvalidValues,
};
use inferwarden::ErrorCode;
use sample_tree::sample_catalogue;
use serde_json::json;

fn sample() -> Catalogue {
    sample_catalogue()
}

#[test]
fn sample_catalogue_is_clean() {
    let c = sample();
    let (errors, warnings) = c.check();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.find("wan-remix").unwrap().1.id, "phr00t");
    assert_eq!(c.find("ltx-video").unwrap().0, "ltx-video");
    assert!(
        c.extra.contains_key("default_mode"),
        "unknown top-level keys are kept"
    );
}

#[test]
fn conditions_parse_and_evaluate() {
    let c = Condition::parse("mode == i2v || mode == 'flf2v' && mode != \"t2v\"").unwrap();
    assert!(c.holds("i2v") && c.holds("flf2v") && !c.holds("t2v"));
    for bad in [
        "",
        "mode = i2v",
        "model == x",
        "mode == ",
        "mode == a b",
        "mode == i2v ||",
    ] {
        assert_eq!(
            Condition::parse(bad).unwrap_err().code(),
            ErrorCode::ValidationError,
            "{bad:?}"
        );
    }
}

#[test]
fn self_checks_find_catalogue_errors() {
    let mut c = sample();
    let wan = c.video_models.get_mut("wan-2.2").unwrap();
    wan.default_mode = Some("v2v".into());
    wan.parameters.get_mut("num_frames").unwrap().default = Some(json!(80));
    wan.parameters.get_mut("image").unwrap().visible_if = Some("mode == x2v".into());
    wan.parameters.get_mut("keyframes").unwrap().required_if = Some("mode = flf2v".into());
    c.aliases.insert("ghost".into(), "nope".into());
    let (errors, _) = c.check();
    let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
    for want in [
        "video_models.wan-2.2.default_mode",
        "video_models.wan-2.2.parameters.num_frames.default",
        "video_models.wan-2.2.parameters.image.visible_if",
        "video_models.wan-2.2.parameters.keyframes.required_if",
        "aliases.ghost",
    ] {
        assert!(paths.contains(&want), "{want} missing in {paths:?}");
    }
}

#[test]
fn valid_request_gets_defaults_and_fixed_values() {
    let c = sample();
    let ok = validate_request(&c, &json!({"model": "wan-remix", "mode": "i2v", "parameters": {"prompt": "a cat", "image": "upload://1"}})).unwrap();
    assert_eq!(
        (ok.model_id.as_str(), ok.kind.as_str(), ok.mode.as_str()),
        ("phr00t", "video", "i2v")
    );
    assert_eq!(ok.payload["num_frames"], 81);
    assert_eq!(ok.payload["steps"], 8, "locked fixed value");
    assert_eq!(ok.payload["cfg"], 1.0);
    assert_eq!(ok.payload["seed"], -1);
    assert!(!ok.payload.contains_key("keyframes"), "not visible in i2v");
}

#[test]
fn every_violation_is_reported_at_once() {
    let c = sample();
    let err = validate_request(
        &c,
        &json!({"model": "wan-2.2", "type": "image", "mode": "t2v", "parameters": {
            "num_frames": 80, "resolution": "4k", "image": "x", "steps": 50, "bogus": 1, "prompt": "p".repeat(2001)
        }}),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationError);
    let v = &err.metadata().unwrap()["violations"];
    let got: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["path"].as_str().unwrap().to_owned(),
                x["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for want in [
        ("type", "type_mismatch"),
        ("parameters.num_frames", "invalid_value"),
        ("parameters.resolution", "invalid_value"),
        ("parameters.image", "not_visible_in_mode"),
        ("parameters.steps", "locked"),
        ("parameters.bogus", "unknown_parameter"),
        ("parameters.prompt", "invalid_value"),
    ] {
        assert!(
            got.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} missing in {got:?}"
        );
    }
}

#[test]
fn required_by_mode_and_unknown_model() {
    let c = sample();
    let err = validate_request(
        &c,
        &json!({"model": "wan-2.2", "mode": "flf2v", "parameters": {"prompt": "p"}}),
    )
    .unwrap_err();
    let rules: Vec<_> = err.metadata().unwrap()["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        rules.contains(&"parameters.image".to_owned())
            && rules.contains(&"parameters.keyframes".to_owned()),
        "{rules:?}"
    );
    let err = validate_request(&c, &json!({"model": "nope"})).unwrap_err();
    assert_eq!(
        err.metadata().unwrap()["violations"][0]["rule"],
        "unknown_model"
    );
    let err = validate_request(
        &c,
        &json!({"model": "flux-dev", "mode": "i2v", "parameters": {"prompt": "p"}}),
    )
    .unwrap_err();
    assert_eq!(
        err.metadata().unwrap()["violations"][0]["rule"],
        "mode_not_allowed"
    );
    assert!(validate_request(
        &c,
        &json!({"model": "sdxl-turbo", "parameters": {"prompt": "p", "steps": 4}})
    )
    .is_ok());
}

#[test]
fn self_check_issues_point_at_their_line_and_column() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/platform/src/inference_settings.json"
    ))
    .unwrap();
    // A default out of range, and an unknown key, each on a known line.
    let bad = text
        .replacen("\"default\": 28,", "\"default\": 60,", 1)
        .replacen(
            "\"category\": \"general\",",
            "\"category\": \"general\", \"colour\": \"blue\",",
            1,
        );
    // Loading for validation refuses the bad default, naming its path and line...
    let refused = Catalogue::from_json(&bad).unwrap_err();
    assert_eq!(refused.code_str(), "config_invalid");
    let issues = &refused.metadata().unwrap()["issues"];
    assert_eq!(
        issues[0]["path"],
        "image_models.flux-dev.parameters.steps.default"
    );
    // ...and loading with invalid values allowed reports it in check() and never emits it.
    let c = Catalogue::from_json_with(
        &bad,
        CatalogueOptions {
            invalid_values: InvalidValues::Warn,
            ..Default::default()
        },
    )
    .unwrap();
    let (errors, warnings) = c.check();
    let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1;
    let col_of = |needle: &str, at: &str| {
        let line = bad.lines().find(|l| l.contains(needle)).unwrap();
        line[..line.find(at).unwrap()].chars().count() as u32 + 1
    };
    let steps = errors
        .iter()
        .find(|e| e.path == "image_models.flux-dev.parameters.steps.default")
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert_eq!(steps.line, Some(line_of("\"default\": 60,")));
    assert_eq!(steps.column, Some(col_of("\"default\": 60,", "60")));
    let colour = warnings
        .iter()
        .find(|w| w.path == "image_models.flux-dev.colour")
        .unwrap_or_else(|| panic!("{warnings:?}"));
    assert_eq!(colour.line, Some(line_of("\"colour\": \"blue\"")));
    assert_eq!(
        c.position("image_models.flux-dev.parameters.steps.max")
            .map(|p| p.0),
        Some(steps.line.unwrap())
    );
}

/// A catalogue default or fixed value validation would refuse is refused at load, or (loaded
/// with `InvalidValues::Warn`) reported by `check()` and never emitted: every payload
/// `validate_request` returns validates again unchanged.
#[test]
fn validate_request_never_emits_a_payload_it_would_reject() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/platform/src/inference_settings.json"
    ))
    .unwrap();
    // The width default off its grid (512 + 64k), as a real catalogue had it.
    let bad = text.replacen(
        "\"default\": 1024, \"min\": 512",
        "\"default\": 720, \"min\": 512",
        1,
    );
    assert_ne!(bad, text, "the fixture edits must apply");
    let err = Catalogue::from_json(&bad).unwrap_err();
    let issues = err.metadata().unwrap()["issues"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        issues
            .iter()
            .any(|i| i["path"] == "image_models.flux-dev.parameters.width.default"),
        "{issues:?}"
    );
    let warn = CatalogueOptions {
        invalid_values: InvalidValues::Warn,
        ..Default::default()
    };
    let c = Catalogue::from_json_with(&bad, warn).unwrap();
    let ok = validate_request(
        &c,
        &json!({"model": "flux-dev", "parameters": {"prompt": "p"}}),
    )
    .unwrap();
    assert!(!ok.payload.contains_key("width"), "{:?}", ok.payload);
    assert_eq!(ok.payload["height"], 1024);
    // Sent back as the frontend would, the payload validates unchanged.
    let mut again = serde_json::Map::new();
    again.insert("model".into(), json!("flux-dev"));
    again.insert(
        "parameters".into(),
        serde_json::Value::Object(ok.payload.clone()),
    );
    let twice = validate_request(&c, &serde_json::Value::Object(again)).unwrap();
    assert_eq!(twice.payload, ok.payload);
    // A flat request in the catalogue's configured shape.
    let flat = Catalogue::from_json_with(
        &text,
        CatalogueOptions {
            request_shape: inferwarden::catalogue::RequestShape::Flat,
            ..Default::default()
        },
    )
    .unwrap();
    let ok = validate_request(
        &flat,
        &json!({"model": "flux-dev", "prompt": "p", "width": 768.0}),
    )
    .unwrap();
    assert_eq!(ok.payload["width"], json!(768));
    let err = validate_request(
        &flat,
        &json!({"model": "flux-dev", "prompt": "p", "nonsense": 1}),
    )
    .unwrap_err();
    assert_eq!(err.metadata().unwrap()["violations"][0]["path"], "nonsense");
}

/// A common parameter's bad default is reported once, at its own path and line.
#[test]
fn a_common_default_is_reported_at_its_own_path() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/platform/src/inference_settings.json"
    ))
    .unwrap();
    let bad = text.replacen(
        "\"default\": -1, \"min\": -1",
        "\"default\": -2, \"min\": -1",
        1,
    );
    assert_ne!(bad, text, "the fixture edit must apply");
    let warn = CatalogueOptions {
        invalid_values: InvalidValues::Warn,
        ..Default::default()
    };
    let (errors, _) = Catalogue::from_json_with(&bad, warn).unwrap().check();
    let seed: Vec<_> = errors.iter().filter(|e| e.path.contains("seed")).collect();
    assert_eq!(seed.len(), 1, "{errors:?}");
    assert_eq!(seed[0].path, "common.seed.default");
    let line = bad
        .lines()
        .position(|l| l.contains("\"default\": -2"))
        .unwrap() as u32
        + 1;
    assert_eq!(seed[0].line, Some(line));
}
