//! Shared inputs for the criterion benches (so every bench measures the same cases).

/// Task ids the task-ref bench parses: local, remote, and rejected.
pub const TASK_REF_CASES: [(&str, &str); 4] = [
    ("local", "3f2b9c1e-7a4d-4f0e-9b1a-2c3d4e5f6a7b"),
    ("remote", "acme-gpu-2::3f2b9c1e-7a4d-4f0e-9b1a-2c3d4e5f6a7b"),
    ("reject_hostile", "evil.example%23::x"),
    ("reject_extra_sep", "ws1::a::b"),
];

/// The API key the gate bench configures (not a real secret).
pub const BENCH_API_KEY: &str = "bench-api-key-0123456789abcdef";

/// The sweep benches' batch size: the default policy's (`stale.sweep_batch_size`), or
/// `INFERWARDEN_BENCH_BATCH` to measure another.
pub fn sweep_batch() -> u32 {
    std::env::var("INFERWARDEN_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            inferwarden::config::PolicyConfig::default()
                .stale
                .sweep_batch_size
        })
}
