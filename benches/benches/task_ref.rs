//! Task reference parsing: goal under 50 ns per parse.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use inferwarden::parse_task_ref;
use inferwarden_benches::TASK_REF_CASES;

fn bench_task_ref(c: &mut Criterion) {
    let mut group = c.benchmark_group("task_ref");
    for (name, id) in TASK_REF_CASES {
        group.bench_function(name, |b| b.iter(|| parse_task_ref(black_box(id)).is_ok()));
    }
    group.finish();
}

criterion_group!(benches, bench_task_ref);
criterion_main!(benches);
