// Catalogue parity from Node: the check on the sample platform, a planted drift, the bin
// (exit codes for a prebuild script), generated mirrors, and a real `vite build` that the
// plugin fails on drift and lets through when clean.
import test from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const here = dirname(fileURLToPath(import.meta.url))
const pkg = join(here, '..', '..', 'bindings-node')
const require = createRequire(import.meta.url)
const parity = require(join(pkg, 'parity.js'))
const SAMPLE = join(here, '..', '..', 'examples', 'platform')

function copySample(drift) {
  const root = join(mkdtempSync(join(tmpdir(), 'iw-parity-')), 'platform')
  cpSync(SAMPLE, root, { recursive: true })
  if (drift) {
    const file = join(root, 'src', 'configManager.ts')
    writeFileSync(file, readFileSync(file, 'utf8').replace("{ steps: 28,", '{ steps: 20,'))
  }
  return root
}

test('the clean sample has no findings; a planted drift is found with both locations', () => {
  const clean = parity.check(SAMPLE)
  assert.equal(clean.exit_code, 0)
  assert.deepEqual(clean.findings, [])
  const report = parity.check(copySample(true), { format: 'github' })
  assert.equal(report.exit_code, 1)
  assert.equal(report.findings.length, 1)
  const [f] = report.findings
  assert.equal(f.rule, 'default_differs')
  assert.equal(f.catalogue_path, 'image_models.flux-dev.parameters.steps.default')
  assert.equal(f.source.file, 'src/configManager.ts')
  assert.equal(f.catalogue_at.file, 'src/inference_settings.json')
  assert.deepEqual([f.expected, f.found], [28, 20])
  assert.match(report.rendered, /^::error file=src\/configManager\.ts,line=\d+,col=\d+,title=default_differs::/)
  assert.throws(() => parity.check(SAMPLE, { format: 'yaml' }), { code: 'config_invalid' })
})

function bin(...args) {
  return spawnSync(process.execPath, [join(pkg, 'bin', 'inferwarden-parity.js'), ...args], { encoding: 'utf8' })
}

test('the bin exits 0 clean, 1 on drift, 2 on bad input', () => {
  assert.equal(bin('check', SAMPLE).status, 0)
  const drift = bin(copySample(true), '--format', 'json')
  assert.equal(drift.status, 1)
  assert.equal(JSON.parse(drift.stdout).findings[0].rule, 'default_differs')
  assert.equal(bin(join(tmpdir(), 'no-such-platform-tree')).status, 2)
  assert.equal(bin('--bogus').status, 2)
  assert.equal(bin('generate', SAMPLE, '--check').status, 0)
})

test('generate reports stale mirrors and rewrites them', () => {
  const root = copySample(false)
  const settings = join(root, 'src', 'inference_settings.json')
  writeFileSync(settings, readFileSync(settings, 'utf8').replace('"max": 50', '"max": 40'))
  assert.deepEqual(parity.generate(root, { check: true }).map((f) => f.status), ['stale', 'stale'])
  assert.equal(bin('generate', root, '--check').status, 1)
  assert.deepEqual(parity.generate(root).map((f) => f.status), ['written', 'written'])
  assert.match(readFileSync(join(root, 'src', 'generated', 'catalogue.ts'), 'utf8'), /"max": 40/)
})

function viteProject(platformRoot) {
  const dir = mkdtempSync(join(tmpdir(), 'iw-vite-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>\n')
  writeFileSync(join(dir, 'main.js'), 'document.title = "ok"\n')
  const plugin = pathToFileURL(join(pkg, 'parity.js')).href
  writeFileSync(
    join(dir, 'vite.config.mjs'),
    `import parity from ${JSON.stringify(plugin)}\nexport default { logLevel: 'error', plugins: [parity.inferwardenParity({ root: ${JSON.stringify(platformRoot)} })] }\n`,
  )
  mkdirSync(join(dir, 'node_modules'), { recursive: true })
  return dir
}

function viteBuild(dir) {
  return spawnSync(process.execPath, [join(pkg, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], {
    cwd: dir,
    encoding: 'utf8',
  })
}

test('a real vite build passes on the clean sample and fails on drift', () => {
  const ok = viteBuild(viteProject(SAMPLE))
  assert.equal(ok.status, 0, ok.stderr + ok.stdout)
  const bad = viteBuild(viteProject(copySample(true)))
  assert.notEqual(bad.status, 0)
  assert.match(bad.stderr + bad.stdout, /default_differs/)
  assert.match(bad.stderr + bad.stdout, /inferwarden parity/)
})
