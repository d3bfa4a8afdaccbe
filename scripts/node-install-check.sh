#!/usr/bin/env bash
# Installs the packed Node binding the way a user does, into a fresh project with no Rust
# toolchain on PATH, and checks what a build pipeline relies on:
#
#   scripts/node-install-check.sh [TARBALL_DIR]   # default: packs bindings-node (node-pack.sh)
#
# 1. `npm install` of the two tarballs (the JavaScript package and the platform package that
#    carries the addon) plus vite, typescript and @types/node at bindings-node's pinned versions;
# 2. the addon comes from the platform package; CommonJS `require` and ESM `import` give the
#    same objects; the types check under TypeScript's nodenext resolution (ESM and CommonJS);
# 3. the parity bin from node_modules/.bin exits 0 clean and 1 on drift;
# 4. a real `vite build` with the plugin passes on the sample platform and fails on drift;
# 5. the whole node:test suite against the installed copy (INFERWARDEN_NODE_PACKAGE).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarballs="${1:-}"
if [[ -z "$tarballs" ]]; then
  tarballs="$work/tarballs"
  "$root/scripts/node-pack.sh" "$tarballs"
fi
tarballs="$(cd "$tarballs" && pwd)"
pinned() { node -p "require('$root/bindings-node/package.json').devDependencies['$1']"; }
vite_version="$(pinned vite)"
ts_version="$(pinned typescript)"
node_types_version="$(pinned @types/node)"  # index.d.ts names Node's Buffer

# No cargo, rustc or rustup on PATH: the packages must not need them.
source "$root/scripts/lib/no-rust-path.sh"

app="$work/app"
mkdir -p "$app/src"
cd "$app"
printf '{ "name": "iw-install-check", "private": true, "type": "module" }\n' > package.json
shopt -s nullglob
packs=("$tarballs"/inferwarden-*.tgz)
[[ ${#packs[@]} -ge 2 ]] || { echo "node-install-check: expected the main and a platform tarball in $tarballs" >&2; exit 2; }
echo "node-install-check: npm install ${packs[*]##*/} vite@$vite_version typescript@$ts_version @types/node@$node_types_version"
# --prefer-offline: vite and typescript come from npm's cache when bindings-node's `npm ci` filled it.
npm install --no-audit --no-fund --loglevel=error --prefer-offline \
  "${packs[@]}" "vite@$vite_version" "typescript@$ts_version" "@types/node@$node_types_version"

installed="$app/node_modules/inferwarden"
if find "$installed" -name '*.node' | grep -q .; then
  echo "node-install-check: the main package carries an addon" >&2; exit 1
fi
ls node_modules/inferwarden-*/*.node >/dev/null

cat > smoke.mjs <<'JS'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import * as esm from 'inferwarden'
import esmDefault from 'inferwarden'
import { inferwardenParity, check } from 'inferwarden/parity'
const require = createRequire(import.meta.url)
const cjs = require('inferwarden')
const cjsParity = require('inferwarden/parity')
assert.match(require.resolve('inferwarden'), /node_modules\/inferwarden\/index\.js$/)
for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], `ESM export ${name}`)
assert.equal(esmDefault, cjs)
assert.equal(inferwardenParity, cjsParity.inferwardenParity)
assert.equal(check, cjsParity.check)
assert.equal(esm.parseTaskRef('pool-2::t1').workspace, 'pool-2')
assert.throws(() => esm.parseTaskRef('ws::a::b'), { code: 'proxy_target_invalid' })
console.log(`node-install-check: ${Object.keys(cjs).length} exports, the same through require and import`)
JS
node smoke.mjs

# The published types, as a TypeScript project that imports the package sees them.
cat > src/esm.mts <<'TS'
import { parseTaskRef, Gate, type TaskRef } from 'inferwarden'
import { inferwardenParity, type ParityReport } from 'inferwarden/parity'
const ref: TaskRef = parseTaskRef('pool-2::t1')
const plugin: { name: string } = inferwardenParity({ root: '.' })
export const seen: [string, typeof Gate, ParityReport | null] = [ref.kind + plugin.name, Gate, null]
TS
cat > src/cjs.cts <<'TS'
import iw = require('inferwarden')
import parity = require('inferwarden/parity')
export const kind: string = iw.parseTaskRef('t1').kind + parity.check.name
TS
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "strict": true,
  "noEmit": true, "skipLibCheck": false, "types": ["node"] }, "include": ["src"] }
JSON
node node_modules/typescript/bin/tsc -p tsconfig.json
echo "node-install-check: types check (nodenext, ESM and CommonJS)"

sample="$root/examples/platform"
drifted="$work/drifted"
cp -R "$sample" "$drifted"
sed -i 's/{ steps: 28,/{ steps: 20,/' "$drifted/src/configManager.ts"
grep -q '{ steps: 20,' "$drifted/src/configManager.ts"

node_modules/.bin/inferwarden-parity check "$sample" >/dev/null
set +e
node_modules/.bin/inferwarden-parity check "$drifted" > "$work/bin.out"
rc=$?
set -e
[[ $rc -eq 1 ]] && grep -q 'default_differs' "$work/bin.out" || {
  cat "$work/bin.out" >&2; echo "node-install-check: the bin exited $rc on drift, not 1" >&2; exit 1; }
echo "node-install-check: bin exits 0 clean, 1 on drift"

printf '<!doctype html><script type="module" src="/main.js"></script>\n' > index.html
printf 'document.title = "ok"\n' > main.js
vite_build() {
  printf "import { inferwardenParity } from 'inferwarden/parity'\nexport default { logLevel: 'error', plugins: [inferwardenParity({ root: %s })] }\n" \
    "$(node -p 'JSON.stringify(process.argv[1])' "$1")" > vite.config.js
  node_modules/.bin/vite build > "$work/vite.out" 2>&1
}
vite_build "$sample" || { cat "$work/vite.out" >&2; echo "node-install-check: vite build failed on the clean sample" >&2; exit 1; }
[[ -f dist/index.html ]]
if vite_build "$drifted"; then
  cat "$work/vite.out" >&2; echo "node-install-check: vite build passed on drift" >&2; exit 1
fi
grep -q 'error\[default_differs\]' "$work/vite.out" || { cat "$work/vite.out" >&2; exit 1; }
echo "node-install-check: vite build passes clean, fails on drift"

echo "node-install-check: node:test suite against $installed"
(cd "$root" && INFERWARDEN_NODE_PACKAGE="$installed" node --test tests/node/)
echo "node-install-check: passed"
