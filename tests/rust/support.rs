//! Helpers shared by the cross-surface Rust tests: locating and reading the golden vectors,
//! and the fuzz oracles ([`fuzz`]) both the cargo-fuzz targets and the stable corpus replay
//! call.

pub mod fuzz;

use std::path::PathBuf;

use serde_json::Value;

/// The `tests/vectors` directory of this repository.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Reads and parses one vector file, e.g. `load_vectors("task_ref.json")`.
pub fn load_vectors(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}
