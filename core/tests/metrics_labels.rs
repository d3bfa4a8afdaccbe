//! Tests for the label rules of `metrics/`: label values are escaped, and the model label
//! of lane readiness is capped so that no caller can grow the series without bound. In its
//! own test binary (its own process): filling the cap would change what the other metrics
//! tests see.

use std::sync::Arc;

use inferwarden::clock::ManualClock;
use inferwarden::config::PolicyConfig;
use inferwarden::dispatch::{LaneHealth, LaneRouter};
use inferwarden::metrics;

#[test]
fn label_values_are_escaped_and_models_are_capped() {
    let clock = ManualClock::new(0);
    let router = LaneRouter::new(&PolicyConfig::default(), 60_000, Arc::new(clock));
    router
        .set_lane("odd\"model\\\nname", LaneHealth::default())
        .unwrap();
    let text = metrics::render();
    assert!(
        text.contains(r#"inferwarden_lane_ready{model="odd\"model\\\nname"} 0"#),
        "escaped label value"
    );
    for i in 0..400 {
        router
            .set_lane(&format!("model-{i}"), LaneHealth::default())
            .unwrap();
    }
    let series = metrics::render()
        .lines()
        .filter(|l| l.starts_with("inferwarden_lane_ready{"))
        .count();
    assert!(
        series <= 257,
        "{series} readiness series: the cap is 256 models + other"
    );
    assert!(metrics::render().contains(r#"inferwarden_lane_ready{model="other"}"#));
}
