#!/usr/bin/env bash
# Builds every release artifact into dist/ with SHA-256 checksums:
#
#   scripts/release.sh           # release builds
#   scripts/release.sh --dev     # the same steps with unoptimised builds (checks the script)
#
#   dist/python/  inferwarden-VERSION-cp311-abi3-manylinux_2_28_x86_64.whl (maturin with zig
#                 from PyPI, so the wheel runs on glibc 2.28+ whatever this machine's glibc is;
#                 auditwheel confirms the tag) and the sdist
#   dist/node/    inferwarden-VERSION.tgz (npm pack of bindings-node with the release addon)
#   dist/crates/  inferwarden-VERSION.crate, inferwarden-cuda-VERSION.crate (cargo package)
#   dist/bin/     inferwarden-VERSION-x86_64-linux-gnu (the CLI, release build)
#   dist/sbom/    CycloneDX JSON: the Rust dependency graph (cargo-cyclonedx) and the Node
#                 package's (@cyclonedx/cyclonedx-npm, pinned in bindings-node's lockfile)
#   dist/SHA256SUMS
#
# Installs what it needs from the registries (ziglang and auditwheel into .venv, cargo-cyclonedx
# with cargo install). Uses its own cargo target directory for the zig build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
release=(--release)
node_release=(--release)
cli_dir=release
if [[ "${1:-}" == "--dev" ]]; then release=(); node_release=(); cli_dir=debug; fi
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
dist="$root/dist"
rm -rf "$dist"
mkdir -p "$dist"/{python,node,crates,bin,sbom}
step() { printf '\n==> release: %s\n' "$*"; }

step "python: abi3 manylinux_2_28 wheel (zig) and sdist"
scripts/setup-python.sh --tools-only
.venv/bin/python -m pip install --quiet --disable-pip-version-check ziglang==0.17.1 auditwheel==6.8.2
PATH="$root/.venv/bin:$PATH" CARGO_TARGET_DIR="$root/target/zig" \
  .venv/bin/maturin build "${release[@]}" --zig --compatibility manylinux_2_28 \
  -m bindings-python/Cargo.toml --interpreter .venv/bin/python --out "$dist/python"
.venv/bin/maturin sdist -m bindings-python/Cargo.toml --out "$dist/python"
for whl in "$dist"/python/*.whl; do
  .venv/bin/auditwheel show "$whl" | tee "$dist/python/$(basename "$whl").auditwheel.txt"
  # The tag auditwheel reports (the file name says 2_28 whatever the symbols need).
  tr '\n' ' ' < "$dist/python/$(basename "$whl").auditwheel.txt" | grep -q 'platform tag: *"manylinux_2_28_x86_64"' || {
    echo "release: $whl is not manylinux_2_28 compliant" >&2; exit 1; }
done

step "node: release addon and npm pack"
(cd bindings-node && npm ci --no-audit --no-fund --loglevel=error && npx napi build --platform "${node_release[@]}")
(cd bindings-node && npm pack --pack-destination "$dist/node" >/dev/null)
(cd bindings-node && npx --no-install cyclonedx-npm --omit dev --output-format JSON --output-file "$dist/sbom/inferwarden-node.cdx.json")

step "rust: crates (cargo package) and the CLI"
cargo package --locked --allow-dirty -p inferwarden -p inferwarden-cuda
cp target/package/inferwarden-"$version".crate target/package/inferwarden-cuda-"$version".crate "$dist/crates/"
cargo build "${release[@]}" --locked -p inferwarden-cli
cp "target/$cli_dir/inferwarden" "$dist/bin/inferwarden-$version-x86_64-linux-gnu"

step "sbom: Rust dependency graph (CycloneDX, every feature)"
if ! cargo cyclonedx --version >/dev/null 2>&1; then
  cargo install cargo-cyclonedx --locked --version 0.5.9
fi
cargo cyclonedx --format json --all-features --override-filename sbom >/dev/null
for crate in core cuda cli bindings-python bindings-node; do
  mv "$crate/sbom.json" "$dist/sbom/$crate.cdx.json"
done
rm -f tests/sbom.json benches/sbom.json  # workspace-only crates, never released

step "checksums"
(cd "$dist" && find . -type f ! -name SHA256SUMS ! -name '*.auditwheel.txt' -printf '%P\n' | sort | xargs sha256sum > SHA256SUMS)
cat "$dist/SHA256SUMS"
