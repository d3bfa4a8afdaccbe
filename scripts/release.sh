#!/usr/bin/env bash
# Builds every release artifact into dist/ with SHA-256 checksums:
#
#   scripts/release.sh           # release builds
#   scripts/release.sh --dev     # the same steps with unoptimised builds (checks the script)
#
#   dist/python/  inferwarden-VERSION-cp311-abi3-manylinux_2_28_x86_64.whl (maturin with zig
#                 from PyPI, so the wheel runs on glibc 2.28+ whatever this machine's glibc is;
#                 auditwheel confirms the tag) and the sdist
#   dist/node/    inferwarden-VERSION.tgz (the JavaScript package: CommonJS and ESM entries,
#                 types, the parity bin) and inferwarden-linux-x64-gnu-VERSION.tgz (the release
#                 addon, an optional dependency of the first), by scripts/node-pack.sh
#   dist/crates/  inferwarden-VERSION.crate, inferwarden-cuda-VERSION.crate (cargo publish
#                 --dry-run: packaged, then built from the package)
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
# Rust's unwinder from the system's libgcc_s.so.1 (manylinux allows it), not the libunwind
# zig links in statically by default: CPython ends a daemon thread that wants the GIL back
# during interpreter shutdown with pthread_exit, whose forced unwind runs libgcc_s's
# unwinder through our frames, and Rust's personality routine calling a second, static
# unwinder with libgcc_s's context crashed the process at exit
# (tests/python/test_interpreter_exit.py). The verbatim `-l` keeps zig's wrapper from
# rewriting it to -lunwind; the directory holds that one library and nothing else.
libgcc_s="$(gcc -print-file-name=libgcc_s.so.1 2>/dev/null || true)"
[[ -f "$libgcc_s" ]] || libgcc_s="$(ldconfig -p | awk '/libgcc_s\.so\.1 .*x86-64/ {print $NF; exit}')"
[[ -f "$libgcc_s" ]] || { echo "release: libgcc_s.so.1 not found" >&2; exit 1; }
mkdir -p "$root/target/zig-libgcc"
ln -sf "$(readlink -f "$libgcc_s")" "$root/target/zig-libgcc/libgcc_s.so.1"
PATH="$root/.venv/bin:$PATH" CARGO_TARGET_DIR="$root/target/zig" \
  RUSTFLAGS="-L native=$root/target/zig-libgcc -l dylib:+verbatim=libgcc_s.so.1" \
  .venv/bin/maturin build "${release[@]}" --zig --compatibility manylinux_2_28 \
  -m bindings-python/Cargo.toml --interpreter .venv/bin/python --out "$dist/python"
.venv/bin/maturin sdist -m bindings-python/Cargo.toml --out "$dist/python"
for whl in "$dist"/python/*.whl; do
  # One unwinder: the extension imports _Unwind_* from libgcc_s and carries no libunwind.
  unpacked="$(mktemp -d)"
  (cd "$unpacked" && python3 -m zipfile -e "$whl" .)
  so="$(ls "$unpacked"/inferwarden/_native*.so)"
  readelf -d "$so" | grep -q 'NEEDED.*\[libgcc_s\.so\.1\]' || { echo "release: $whl does not link libgcc_s.so.1" >&2; exit 1; }
  if nm "$so" | grep -q ' [Tt] _Unwind_RaiseException$'; then
    echo "release: $whl carries its own unwinder (static libunwind)" >&2; exit 1
  fi
  rm -rf "$unpacked"
  .venv/bin/auditwheel show "$whl" | tee "$dist/python/$(basename "$whl").auditwheel.txt"
  # The tag auditwheel reports (the file name says 2_28 whatever the symbols need).
  tr '\n' ' ' < "$dist/python/$(basename "$whl").auditwheel.txt" | grep -q 'platform tag: *"manylinux_2_28_x86_64"' || {
    echo "release: $whl is not manylinux_2_28 compliant" >&2; exit 1; }
done

step "node: release addon, the JavaScript package and the platform package"
(cd bindings-node && npm ci --no-audit --no-fund --loglevel=error && npx napi build --platform "${node_release[@]}")
scripts/node-pack.sh "$dist/node"
(cd bindings-node && npx --no-install cyclonedx-npm --omit dev --output-format JSON --output-file "$dist/sbom/inferwarden-node.cdx.json")

step "rust: crates (cargo publish --dry-run) and the CLI"
cargo publish --dry-run --locked --allow-dirty -p inferwarden -p inferwarden-cuda
# The dry run packs in a scratch directory: pack again, unverified (verified just above).
cargo package --no-verify --locked --allow-dirty -p inferwarden -p inferwarden-cuda
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
