"""The inferwarden demo: the policy core at work on the sample platform in examples/platform.

Run it with `scripts/demo.sh` (which builds and installs the Python binding first).
Each capability of the library adds a section here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import inferwarden
from inferwarden.errors import InferwardenError

HERE = Path(__file__).resolve().parent
PLATFORM = HERE / "platform"


def section(title: str) -> None:
    print(f"\n=== {title} ===")


def show_config() -> inferwarden.PolicyConfig:
    section("1. Runtime policy: one typed configuration (file + INFERWARDEN_* overrides)")
    env = dict(os.environ)
    # Demo secrets come from the environment; they never appear in any output below.
    env.setdefault("INFERWARDEN_AUTH__API_KEYS", "demo-api-key-please-rotate")
    env.setdefault("INFERWARDEN_AUTH__ADMIN_KEY", "demo-admin-key-0123456789")
    env.setdefault("INFERWARDEN_QUEUE__DEGRADED_MAX_WAIT_S", "30")
    config = inferwarden.PolicyConfig.load(PLATFORM / "inferwarden.toml", env=env)
    effective = config.to_dict()
    print(f"environment: {config.environment} (dev: {config.is_dev_environment})")
    print("auth:", json.dumps(effective["auth"]))
    print("stale TTLs (s):", effective["stale"]["processing_ttl_s"], "| unknown type ->", config.stale_ttl_s("audio"))
    print("queue:", effective["queue"])
    print("rate limits:", {k: v for k, v in effective["rate_limits"].items()})
    print("worker settings for the serverless decorator:")
    for lane, settings in config.worker_settings().items():
        print(f"  {lane:<16} {settings}")
    report = config.validate()
    for w in report["warnings"]:
        print(f"  warning: {w['field']}: {w['message']}")

    section("   ...and a configuration that would fail tasks still running is refused")
    try:
        inferwarden.PolicyConfig.load(PLATFORM / "inferwarden.toml", env={"INFERWARDEN_STALE__PROCESSING_TTL_S__VIDEO": "600"})
    except InferwardenError as err:
        print(f"{type(err).__name__} [{err.code}]")
        for issue in err.metadata["issues"]:
            print(f"  {issue['field']}: {issue['message']}")
    return config


def show_task_refs() -> None:
    section("2. Task references: where a task may be routed")
    samples = [
        "3f2b9c1e-7a4d-4f0e-9b1a-2c3d4e5f6a7b",
        "gpu-pool-2::3f2b9c1e",
        "evil.example%23::x",
        "a@evil.example::x",
        "ws::a::b",
        "acme::..",
        "ACME::t1",
    ]
    for raw in samples:
        try:
            ref = inferwarden.parse_task_ref(raw)
            where = f"remote workspace {ref.workspace!r}" if ref.is_remote else "local"
            print(f"  {raw!r:<42} -> {where}, task {ref.task_id!r}")
        except InferwardenError as err:
            print(f"  {raw!r:<42} -> {err.code} ({err.metadata['rule']}), HTTP {err.http_status}")


def show_errors() -> None:
    section("3. The error contract (one code per rejection) and the legacy map")
    for row in inferwarden.list_all_errors():
        print(f"  {row['code']:<24} {row['http_status']}  {row['class_name']}")
    for legacy, code in inferwarden.legacy_code_map().items():
        print(f"  legacy {legacy:<28} -> {code}")


def main() -> None:
    print(f"inferwarden {inferwarden.__version__}")
    show_config()
    show_task_refs()
    show_errors()
    print("\ndemo finished")


if __name__ == "__main__":
    main()
