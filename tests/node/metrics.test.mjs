// metrics(): the exposition through the Node binding declares exactly the families pinned in
// tests/vectors/metrics.json (type and label names), decisions made from Node move their
// series, and no secret reaches it.
import test from 'node:test'
import assert from 'node:assert/strict'
import { iw, loadVectors } from './support.mjs'

const API = 'canary-node-metrics-api-key-0123456789'
const pinned = loadVectors('metrics.json').families

// Each sample line as { name, labels } (a small reader for the OpenMetrics text lines).
function samples (text) {
  const out = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(m, `not a sample line: ${line}`)
    const labels = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

const value = (name, labels) => {
  const hit = samples(iw.metrics()).find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))
  return hit ? hit.value : 0
}

test('families match the golden file', () => {
  assert.deepEqual(iw.metricsFamilies().map(({ name, type, labels }) => ({ name, type, labels })), pinned)
})

test('the exposition declares every family once with its type, and only its label names', () => {
  const text = iw.metrics()
  assert.ok(text.endsWith('# EOF\n'))
  assert.match(iw.metricsContentType(), /^application\/openmetrics-text; version=1\.0\.0/)
  const typed = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1], type: m[2] }))
  assert.deepEqual(typed, pinned.map(({ name, type }) => ({ name, type })))
  const byName = new Map(pinned.map((f) => [f.name, f]))
  for (const s of samples(text)) {
    const family = pinned.find((f) => [f.name, `${f.name}_total`, `${f.name}_bucket`, `${f.name}_count`, `${f.name}_sum`].includes(s.name))
    assert.ok(family, `sample of an undeclared family: ${s.name}`)
    const names = Object.keys(s.labels).filter((k) => k !== 'le').sort()
    assert.deepEqual(names, [...byName.get(family.name).labels].sort(), s.name)
  }
})

test('decisions made from Node move their series; recording can be turned off', () => {
  const gate = new iw.Gate(iw.PolicyConfig.fromText(`[auth]\napi_keys = ["${API}"]\n`))
  const allowed = { route_class: 'generation', outcome: 'allowed' }
  const before = value('inferwarden_gate_decisions_total', allowed)
  for (let i = 0; i < 3; i++) gate.decide({ method: 'GET', path: '/gallery', headers: [['X-API-Key', API]] })
  assert.equal(value('inferwarden_gate_decisions_total', allowed) - before, 3)
  iw.setMetricsEnabled(false)
  try {
    gate.decide({ method: 'GET', path: '/gallery', headers: [['X-API-Key', API]] })
    assert.equal(value('inferwarden_gate_decisions_total', allowed) - before, 3)
  } finally {
    iw.setMetricsEnabled(true)
  }
  gate.decide({ method: 'GET', path: '/gallery', headers: [['X-API-Key', 'canary-wrong-key-4411']] })
  const text = iw.metrics()
  for (const needle of [API, 'canary-wrong-key-4411', '/gallery']) assert.ok(!text.includes(needle), needle)
})

test('metricsAsync gives the same exposition without making the event loop wait on a store', async (t) => {
  const url = process.env.INFERWARDEN_TEST_POSTGRES_URL
  if (!url) {
    assert.ok(!process.env.INFERWARDEN_REQUIRE_SERVICES, 'INFERWARDEN_TEST_POSTGRES_URL missing but services are required')
    t.skip('INFERWARDEN_TEST_POSTGRES_URL not set (run scripts/test.sh)')
    return
  }
  const { spawn } = await import('node:child_process')
  const gate = new iw.Gate(iw.PolicyConfig.fromText(`[auth]\napi_keys = ["${API}"]\n`), url)
  const typed = (text) => [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1])
  assert.deepEqual(typed(await iw.metricsAsync()), typed(iw.metrics()))
  // Another connection holds the session table's lock for 0.8 s, so counting the active
  // sessions waits on it. While it waits, the event loop keeps running timers.
  // (Each -c is sent and printed on its own, in one session: 'locked' arrives while held.)
  const holder = spawn('psql', [url, '-X', '-q', '-t', '-v', 'ON_ERROR_STOP=1',
    '-c', "BEGIN; LOCK TABLE inferwarden_sessions IN ACCESS EXCLUSIVE MODE; SELECT 'locked';",
    '-c', 'SELECT pg_sleep(0.8)', '-c', 'COMMIT'],
  { stdio: ['ignore', 'pipe', 'inherit'] })
  const closed = new Promise((resolve) => holder.on('close', resolve))
  await new Promise((resolve, reject) => {
    holder.on('error', reject)
    holder.stdout.on('data', (chunk) => { if (String(chunk).includes('locked')) resolve() })
  })
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 10)
  const started = Date.now()
  const text = await iw.metricsAsync()
  const waited = Date.now() - started
  clearInterval(timer)
  assert.equal(await closed, 0)
  assert.ok(text.endsWith('# EOF\n'))
  assert.ok(waited >= 400, `waited ${waited} ms: the lock was not held`)
  // A blocked loop would not tick at all during the wait; a free one about every 10 ms.
  assert.ok(ticks >= 20, `${ticks} ticks in ${waited} ms`)
  void gate
})
