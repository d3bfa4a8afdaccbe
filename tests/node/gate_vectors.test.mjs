// The request-gate golden vectors through the Node binding (the same file Rust and pytest run).
import test from 'node:test'
import assert from 'node:assert/strict'
import { iw, loadVectors } from './support.mjs'

const doc = loadVectors('gate.json')

function sub(text, tokens) {
  let out = text
  for (const [name, token] of Object.entries(tokens)) out = out.split(`{session:${name}}`).join(token)
  return out
}

const clock = new iw.ManualClock(doc.start_ms)
const gate = new iw.Gate(iw.PolicyConfig.fromText(doc.config_toml), null, null, clock)
const tokens = {}
for (const s of doc.sessions) {
  const req =
    s.kind === 'generation'
      ? { method: 'POST', path: '/auth/session', headers: [['X-API-Key', doc.api_key]], peer: '192.0.2.250' }
      : { method: 'POST', path: '/admin/session', headers: [['x-admin-key', doc.admin_key]], peer: '192.0.2.250' }
  const d = gate.decide(req)
  assert.ok(d.allowed)
  const issued = gate.issueSession(d, s.kind)
  if (s.revoke) assert.equal(gate.revokeSession(issued.token), true)
  tokens[s.name] = issued.token
}

for (const c of doc.cases) {
  test(`gate: ${c.name}`, () => {
    const r = c.request
    clock.setMs(doc.start_ms)
    const query = r.query.map(([k, v]) => [sub(k, tokens), sub(v, tokens)])
    if (c.signed) {
      const qs = gate.signMediaUrl(c.signed.task_id, c.signed.preview, c.signed.ttl_s)
      for (const part of qs.split('&')) {
        let [k, v] = part.split('=')
        if (k === 'sig' && c.signed.tamper) v = v.slice(0, -1) + (v.endsWith('A') ? 'B' : 'A')
        query.push([k, v])
      }
    }
    clock.setMs(doc.start_ms + (c.at_offset_ms ?? 0))
    const req = { method: r.method, path: r.path, headers: r.headers.map(([k, v]) => [sub(k, tokens), sub(v, tokens)]), query, peer: r.peer }
    let d
    for (let i = 0; i < (c.repeat ?? 1); i++) d = gate.decide(req)
    if (c.expect.allow) {
      assert.equal(d.allowed, true, JSON.stringify(d.body()))
      assert.equal(d.principal.kind, c.expect.allow)
    } else if (c.expect.preflight) {
      assert.equal(d.preflight, true)
      assert.equal(d.status, 204)
    } else {
      assert.equal(d.allowed, false)
      assert.equal(d.code, c.expect.code)
      assert.equal(d.body().code, c.expect.code)
    }
    const lower = d.headers.map(([k, v]) => [k.toLowerCase(), v])
    for (const [n, v] of c.headers_include ?? []) {
      assert.ok(lower.some(([k, val]) => k === n.toLowerCase() && val === v), `missing ${n}: ${v} in ${JSON.stringify(d.headers)}`)
    }
    for (const n of c.headers_exclude ?? []) {
      assert.ok(!lower.some(([k]) => k === n.toLowerCase()), `unexpected ${n}`)
    }
  })
}

test('bad request shapes throw coded errors', () => {
  assert.throws(() => gate.decide({ method: 'GET', path: '/x', headers: [['only-one']] }), { code: 'validation_error' })
  assert.throws(() => gate.decide({ method: 'GET', path: '/x', peer: 'nope' }), { code: 'validation_error' })
  assert.throws(() => new iw.Gate(new iw.PolicyConfig(), 'mongodb://x'), { code: 'config_invalid' })
})

test('audit events carry the mandatory fields and no secret', () => {
  const events = gate.auditEvents()
  assert.ok(events.length > 0)
  const text = JSON.stringify(events)
  assert.ok(!text.includes(doc.api_key) && !text.includes(doc.admin_key))
  for (const e of events) {
    for (const f of ['actor', 'source', 'action', 'target', 'outcome', 'timestamp_ms', 'correlation_id']) assert.ok(f in e, f)
  }
})
