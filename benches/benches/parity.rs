//! Catalogue parity: the full check of the sample platform tree and of the adopter-patterns
//! fixture (goal under 100 ms cold in a release build), and parse + extract throughput in MB/s for Python and TypeScript sources
//! built by repeating the sample sources (about 1 MB each).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use inferwarden::parity::{check_tree, check_with, ParityConfig};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/platform")
}

/// A tree whose only source is `file`: the sample's text repeated to about 1 MB.
fn big_tree(kind: &str, file: &str) -> (PathBuf, ParityConfig, u64) {
    let root = std::env::temp_dir().join(format!("iw-parity-bench-{kind}-{}", std::process::id()));
    std::fs::create_dir_all(root.join("src")).expect("dir");
    std::fs::copy(
        sample().join("src/inference_settings.json"),
        root.join("src/inference_settings.json"),
    )
    .expect("catalogue");
    let unit = std::fs::read_to_string(sample().join(file)).expect("source");
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 1 << 20 {
        // Renamed copies so every definition is distinct.
        text.push_str(&unit.replace("MODELS_SCHEMA", &format!("MODELS_SCHEMA_{i}")));
        text.push('\n');
        i += 1;
    }
    let name = if kind == "python" {
        "big.py"
    } else {
        "big.tsx"
    };
    std::fs::write(root.join(name), &text).expect("write");
    let toml = format!("[[{kind}]]\npath = \"{name}\"\n");
    let config = ParityConfig::from_toml(&toml).expect("config");
    (root, config, text.len() as u64)
}

fn bench_parity(c: &mut Criterion) {
    let root = sample();
    c.bench_function("parity check: sample platform tree", |b| {
        b.iter(|| black_box(check_tree(&root).expect("check")))
    });
    // The patterns of a real adopted platform: a shared flat request class (envelope of
    // four models), a per-model table, bound form controls.
    let adopter = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/adopter");
    c.bench_function("parity check: adopter patterns tree", |b| {
        b.iter(|| black_box(check_tree(&adopter).expect("check")))
    });
    let mut group = c.benchmark_group("parity parse+extract throughput");
    for (kind, file) in [
        ("python", "backend/config.py"),
        ("typescript", "src/components/GenerationForm.tsx"),
    ] {
        let (root, config, bytes) = big_tree(kind, file);
        group.throughput(Throughput::Bytes(bytes));
        group.sample_size(20);
        group.bench_function(kind, |b| {
            b.iter(|| black_box(check_with(&root, &config).expect("check")))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_parity);
criterion_main!(benches);
