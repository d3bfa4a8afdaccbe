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
import { packageDir, toolFile } from './support.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const pkg = packageDir
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
  return spawnSync(process.execPath, [toolFile('vite', 'bin/vite.js'), 'build'], {
    cwd: dir,
    encoding: 'utf8',
  })
}

test('a real vite build passes on the clean sample and fails on drift', () => {
  const ok = viteBuild(viteProject(SAMPLE))
  assert.equal(ok.status, 0, ok.stderr + ok.stdout)
  const bad = viteBuild(viteProject(copySample(true)))
  assert.notEqual(bad.status, 0)
  const out = bad.stderr + bad.stdout
  // The finding once, the plugin named once, and no stack frames.
  assert.equal(out.match(/error\[default_differs\]/g)?.length, 1, out)
  assert.equal(out.match(/inferwarden-parity/g)?.length, 1, out)
  assert.match(out, /catalogue parity: drift; exit code 1/)
  assert.doesNotMatch(out, /^\s+at .+:\d+:\d+\)?$/m, out)
})

test('a passing vite build shows the check\'s warnings', () => {
  const root = copySample(false)
  const form = join(root, 'src', 'components', 'GenerationForm.tsx')
  writeFileSync(form, `${readFileSync(form, 'utf8')}\nexport const isFlux = (m: string) => m === 'flux-dev'\n`)
  const dir = viteProject(root)
  const config = join(dir, 'vite.config.mjs')
  writeFileSync(config, readFileSync(config, 'utf8').replace("logLevel: 'error'", "logLevel: 'warn'"))
  const ok = viteBuild(dir)
  assert.equal(ok.status, 0, ok.stderr + ok.stdout)
  assert.match(ok.stderr + ok.stdout, /warning\[hardcoded_model_in_ui\]/)
})

const ADOPTER = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'adopter')

function adopterCopy(file, from, to) {
  const root = join(mkdtempSync(join(tmpdir(), 'iw-adopter-')), 'adopter')
  cpSync(ADOPTER, root, { recursive: true })
  const path = join(root, file)
  writeFileSync(path, readFileSync(path, 'utf8').replace(from, to))
  return root
}

test('the adopter patterns are silent in agreement; planted drift and config mistakes are found', () => {
  assert.equal(parity.check(ADOPTER).exit_code, 0)
  const slider = parity.check(adopterCopy('src/panel/Tuning.tsx', 'min={33} max={129} step={4} value={frameCount}', 'min={16} max={129} step={4} value={frameCount}'))
  assert.equal(slider.exit_code, 1)
  assert.deepEqual(slider.findings.map((f) => [f.rule, f.source.file, f.catalogue_path]), [
    ['range_differs', 'src/panel/Tuning.tsx', 'video_models.Drift_Motion_3.parameters.num_frames.min'],
  ])
  const misnamed = parity.check(adopterCopy('parity.toml', '"painter", "lumen",', '"painter", "lumenn",'))
  assert.equal(misnamed.exit_code, 2)
  const errors = misnamed.findings.filter((f) => f.rule === 'config_error')
  assert.deepEqual(errors.map((f) => [f.source.file, f.found]), [['parity.toml', 'lumenn']])
  assert.ok(!misnamed.findings.some((f) => f.rule === 'model_extra'))
})

test('generated TypeScript mirrors pass tsc --strict in both request shapes', () => {
  const files = []
  for (const [name, source] of [['sample', SAMPLE], ['adopter', ADOPTER]]) {
    for (const shape of ['nested', 'flat']) {
      const root = join(mkdtempSync(join(tmpdir(), `iw-gen-${name}-`)), 'tree')
      cpSync(source, root, { recursive: true })
      const toml = join(root, 'parity.toml')
      let text = readFileSync(toml, 'utf8')
      if (!text.includes('[generate]')) {
        text += '\n[generate]\ntypescript = "src/generated/catalogue.ts"\npython = "backend/generated_catalogue.py"\n'
      }
      writeFileSync(toml, `${text}request_shape = "${shape}"\n`)
      parity.generate(root)
      const file = join(root, 'src', 'generated', 'catalogue.ts')
      // A flat request extends the parameters; a nested one holds them.
      const body = readFileSync(file, 'utf8')
      assert.match(body, shape === 'flat' ? /interface \w+Request extends \w+Parameters \{/ : /  parameters: \w+Parameters\n/)
      // Each shape must type-check as used: a request literal of the first model.
      writeFileSync(join(root, 'src', 'generated', 'use.ts'), usage(body, shape))
      files.push(file, join(root, 'src', 'generated', 'use.ts'))
    }
  }
  const tsc = toolFile('typescript', 'bin/tsc')
  const run = spawnSync(process.execPath, [tsc, '--strict', '--noEmit', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', ...files], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stdout + run.stderr)
})

/** A module using the first generated request type with its required fields only. */
function usage(body, shape) {
  const name = body.match(/export interface (\w+)Request/)[1]
  const id = body.match(/export interface \w+Request[^{]*\{\n {2}model: "([^"]+)"/)[1]
  const params = body.match(new RegExp(`export interface ${name}Parameters \\{\\n([^}]*)\\}`))[1]
  const required = [...params.matchAll(/^ {2}"(\w+)": (\w+)/gm)].map(([, key, ty]) => `${key}: ${ty === 'number' ? 1 : '"x"'}`)
  const fields = shape === 'flat' ? required : [`parameters: { ${required.join(', ')} }`]
  return `import type { ${name}Request } from './catalogue'\nexport const r: ${name}Request = { model: "${id}", ${fields.join(', ')} }\n`
}
