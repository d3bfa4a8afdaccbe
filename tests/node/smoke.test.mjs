// The smoke runner through the Node binding against the reference FastAPI backend
// (examples/fastapi_app, started here on loopback with the repository's .venv).
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { iw } from './support.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const python = join(root, '.venv', 'bin', 'python')
// The app loads its policy with INFERWARDEN_* overrides (an unknown one is an error), so the
// harness's own INFERWARDEN_TEST_* variables are not passed on.
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INFERWARDEN_'))),
  INFERWARDEN_AUTH__API_KEYS: 'node-smoke-api-key-0123456789abcdef',
  INFERWARDEN_AUTH__ADMIN_KEY: 'node-smoke-admin-key-0123456789abcdef',
  INFERWARDEN_AUTH__MEDIA_SIGNING_KEY: 'node-smoke-media-signing-key-0123456789abcdef',
  INFERWARDEN_WORKER_KEY: 'node-smoke-worker-key-0123456789',
}

// The runner reads the API key from the variable NAMED in `apiKeyEnv`, in this process.
process.env.INFERWARDEN_AUTH__API_KEYS = env.INFERWARDEN_AUTH__API_KEYS

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function startApp() {
  assert.ok(existsSync(python), `${python} is missing: scripts/test.sh creates it before node:test`)
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'iw-node-smoke-'))
  const child = spawn(python, [join(root, 'examples', 'fastapi_app', 'app.py'), '--port', String(port), '--data-dir', dataDir], { env, stdio: 'ignore' })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return { child, base }
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill()
  throw new Error('the example app did not start')
}

test('smoke() passes against the reference backend and names skips in a release run', async () => {
  const { child, base } = await startApp()
  try {
    const lines = []
    const report = await iw.smoke({
      baseUrl: base,
      apiKeyEnv: 'INFERWARDEN_AUTH__API_KEYS',
      adminKey: env.INFERWARDEN_AUTH__ADMIN_KEY,
      allowedOrigin: 'https://studio.example.com',
      deniedOrigin: 'https://evil.example',
      generation: { model: 'flux-dev', parameters: { prompt: 'a fox', steps: 4 } },
      pollTimeout: 20,
      release: false,
    }, (line) => lines.push(line))
    assert.equal(report.failed, 0, report.text)
    assert.equal(report.exitCode, 0)
    const statuses = Object.fromEntries(report.checks.map((c) => [c.id, c.status]))
    assert.equal(statuses.generation_lifecycle, 'pass')
    assert.ok(lines.some((l) => l.includes('done')), `progress lines: ${lines}`)
    assert.equal(statuses.rate_limit, 'skipped')
    assert.match(report.junit, /<testsuite name="inferwarden-smoke"/)
    assert.ok(!JSON.stringify(report).includes(env.INFERWARDEN_AUTH__API_KEYS))

    const strict = await iw.smoke({ baseUrl: base, apiKeyEnv: 'INFERWARDEN_AUTH__API_KEYS', release: true })
    const failed = strict.checks.filter((c) => c.status === 'fail').map((c) => c.id)
    assert.ok(failed.includes('audit_visibility') && failed.includes('cors_allowed_origin'), failed.join(','))
    assert.equal(strict.exitCode, 1)
  } finally {
    child.kill()
  }
})
