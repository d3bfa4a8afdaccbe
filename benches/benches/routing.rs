//! Target resolution for a registered workspace with the in-memory registry and a fixed DNS
//! table (goal: under 200 ns): parse the public id, look the workspace up, rebuild the URL
//! from the stored origin, re-check it, apply the address policy.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::SystemClock;
use inferwarden::config::PolicyConfig;
use inferwarden::parse_task_ref;
use inferwarden::routing::{
    resolve_entry, resolve_target, AddressResolver, MemoryRegistry, ProxyRoute, Router,
    StaticResolver, TargetPolicy, WorkspaceRegistry, WorkspaceStatus,
};

fn bench_resolve(c: &mut Criterion) {
    let policy = TargetPolicy {
        allow_http: false,
        allow_ip_literal: false,
        host_suffixes: vec!["example.run".into()],
    };
    let registry = MemoryRegistry::new();
    for i in 0..100 {
        registry
            .register(
                &format!("gpu-pool-{i}"),
                &format!("https://gpu-pool-{i}--app.example.run"),
                WorkspaceStatus::Ready,
                "pool-key",
                &policy,
                false,
            )
            .unwrap();
    }
    let resolver = StaticResolver::default().with(
        "gpu-pool-42--app.example.run",
        &["93.184.216.34".parse().unwrap()],
    );
    let mut group = c.benchmark_group("routing");
    group.bench_function("resolve_target", |b| {
        b.iter(|| {
            let r = parse_task_ref(black_box("gpu-pool-42::3f2b9c1e-77aa")).unwrap();
            resolve_target(&registry, &resolver, &r, ProxyRoute::Status).unwrap()
        })
    });
    // The parts, for the breakdown in BENCHMARKS.md.
    group.bench_function("part_registry_get", |b| {
        b.iter(|| registry.get(black_box("gpu-pool-42")).unwrap())
    });
    group.bench_function("part_static_resolve", |b| {
        b.iter(|| {
            resolver
                .resolve(black_box("gpu-pool-42--app.example.run"), 443)
                .unwrap()
        })
    });
    let entry = registry.get("gpu-pool-42").unwrap().unwrap();
    group.bench_function("part_same_origin_check", |b| {
        b.iter(|| {
            entry.base_url.same_origin(black_box(
                "https://gpu-pool-42--app.example.run/status/3f2b9c1e-77aa",
            ))
        })
    });
    group.bench_function("part_resolve_entry", |b| {
        b.iter(|| {
            resolve_entry(
                &entry,
                &resolver,
                ProxyRoute::Status,
                Some(black_box("3f2b9c1e-77aa")),
            )
            .unwrap()
        })
    });
    let mut config = PolicyConfig::default();
    config.proxy.allowed_host_suffixes = vec!["example.run".into()];
    let router = Router::new(
        &config,
        Arc::new(resolver.clone()),
        Arc::new(MemoryAuditSink::new()),
        Arc::new(SystemClock),
    )
    .unwrap();
    router
        .register(
            "gpu-pool-42",
            "https://gpu-pool-42--app.example.run",
            WorkspaceStatus::Ready,
            "pool-key",
            false,
        )
        .unwrap();
    group.bench_function("router_resolve", |b| {
        b.iter(|| {
            router
                .resolve(
                    black_box("gpu-pool-42::3f2b9c1e-77aa"),
                    ProxyRoute::Status,
                    "-",
                )
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_resolve);
criterion_main!(benches);
