#!/usr/bin/env bash
# Prints the path of the official OASIS SARIF 2.1.0 JSON schema, downloaded from crates.io
# inside the serde-sarif crate (pinned by scripts/sarif-schema/Cargo.lock; nothing is built).
# scripts/test.sh exports it as INFERWARDEN_SARIF_SCHEMA for the SARIF conformance test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
manifest="$root/scripts/sarif-schema/Cargo.toml"
cargo fetch --locked --manifest-path "$manifest" >&2
cargo metadata --locked --offline --format-version 1 --manifest-path "$manifest" |
  python3 -c '
import json, pathlib, sys
meta = json.load(sys.stdin)
pkg = next(p for p in meta["packages"] if p["name"] == "serde-sarif")
schema = pathlib.Path(pkg["manifest_path"]).parent / "src" / "schema.json"
if not schema.is_file():
    sys.exit(f"serde-sarif {pkg['"'"'version'"'"']} has no src/schema.json")
print(schema)
'
