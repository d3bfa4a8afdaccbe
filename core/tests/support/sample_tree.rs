//! The sample platform tree (`examples/platform`), its catalogue and copies of it, shared
//! by the parity and catalogue tests.

use std::path::{Path, PathBuf};

/// The sample platform tree.
pub fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/platform")
}

/// The sample tree's catalogue (`src/inference_settings.json`), parsed.
#[allow(dead_code)]
pub fn sample_catalogue() -> inferwarden::catalogue::Catalogue {
    let text = std::fs::read_to_string(sample().join("src/inference_settings.json")).unwrap();
    inferwarden::catalogue::Catalogue::from_json(&text).unwrap()
}

/// Copies the tree at `from` to `to` (created).
#[allow(dead_code)]
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
