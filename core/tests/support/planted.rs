//! Copies of a fixture tree with one planted change, shared by the parity tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh copy of the tree at `base` with `old` replaced by `new` (which must occur exactly
/// once) in `file`, and the 1-based line where the replacement starts.
pub fn planted_copy(base: &Path, file: &str, old: &str, new: &str) -> (PathBuf, u32) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let root = std::env::temp_dir().join(format!(
        "iw-planted-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&root);
    super::sample_tree::copy_tree(base, &root);
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches(old).count(),
        1,
        "{file}: `{old}` must occur once"
    );
    let at = text.find(old).unwrap();
    let line = 1 + text[..at].matches('\n').count();
    std::fs::write(&path, text.replacen(old, new, 1)).unwrap();
    (root, line as u32)
}

#[allow(dead_code)]
/// The 1-based line of the first line of `file` under `root` that contains `needle`.
pub fn line_of(root: &Path, file: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1
}
