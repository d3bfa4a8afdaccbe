#!/usr/bin/env bash
# Packs the Node binding the way it is published, napi-rs style:
#
#   scripts/node-pack.sh OUTDIR
#
#   OUTDIR/inferwarden-VERSION.tgz                 the JavaScript package: the loader (index.js,
#                                                  CommonJS) and its ESM entry (index.mjs), types,
#                                                  `inferwarden/parity` and the parity bin; no addon
#   OUTDIR/inferwarden-PLATFORM-VERSION.tgz        one per directory under bindings-node/npm/:
#                                                  the addon built for that target
#
# The packed main package names every platform package as an optional dependency at its own
# version (as `napi prepublish` does): bindings-node/package.json does not, since the platform
# packages are not on the registry while developing (`npm ci` would look for them there).
#
# Build the addon first (`npx napi build --platform [--release]` in bindings-node). Fails when a
# declared platform has no built addon, when the versions disagree, or when the main tarball
# would carry an addon.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[[ $# -eq 1 ]] || { echo "usage: scripts/node-pack.sh OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out="$(cd "$1" && pwd)"
pkg="$root/bindings-node"
field() { node -p "require(process.argv[1])$2" "$1"; }
version="$(field "$pkg/package.json" .version)"
binary="$(field "$pkg/package.json" .napi.binaryName)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

for dir in "$pkg"/npm/*/; do
  platform="$(basename "$dir")"
  name="$(field "$dir/package.json" .name)"
  addon="$binary.$platform.node"
  [[ -f "$pkg/$addon" ]] || { echo "node-pack: $addon is not built (bindings-node: npx napi build --platform)" >&2; exit 1; }
  [[ "$(field "$dir/package.json" .version)" == "$version" ]] || { echo "node-pack: $name is not at version $version" >&2; exit 1; }
  cp -R "$dir" "$stage/$platform"
  cp "$pkg/$addon" "$stage/$platform/"
  (cd "$stage/$platform" && npm pack --silent --pack-destination "$out" >/dev/null)
  echo "node-pack: $out/$name-$version.tgz"
done

# The main package: its `files`, README and a package.json naming the platform packages.
mkdir "$stage/main"
node - "$pkg" "$stage/main" <<'JS'
const { cpSync, readdirSync, readFileSync, writeFileSync } = require('node:fs')
const { join } = require('node:path')
const [pkg, dest] = process.argv.slice(2)
const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'))
for (const entry of [...manifest.files, 'README.md']) cpSync(join(pkg, entry), join(dest, entry), { recursive: true })
manifest.optionalDependencies = {}
for (const platform of readdirSync(join(pkg, 'npm')).sort()) {
  const sub = JSON.parse(readFileSync(join(pkg, 'npm', platform, 'package.json'), 'utf8'))
  manifest.optionalDependencies[sub.name] = sub.version
}
writeFileSync(join(dest, 'package.json'), JSON.stringify(manifest, null, 2) + '\n')
JS
(cd "$stage/main" && npm pack --silent --pack-destination "$out" >/dev/null)
main="$out/inferwarden-$version.tgz"
if tar -tzf "$main" | grep -q '\.node$'; then
  echo "node-pack: $main carries an addon; platform packages carry them" >&2
  exit 1
fi
echo "node-pack: $main"
