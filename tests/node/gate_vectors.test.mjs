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
  // Every bad shape is validation_error naming the field, on both entry points.
  const shapes = [
    [undefined, 'request'],
    ['GET /x', 'request'],
    [{ path: '/x' }, 'method'],
    [{ method: 'GET', path: 42 }, 'path'],
    [{ method: 'GET', path: '/x', headers: 'x-api-key: k' }, 'headers'],
    [{ method: 'GET', path: '/x', headers: [['x-api-key', 7]] }, 'headers'],
    [{ method: 'GET', path: '/x', headers: [['a', 'b', 'c']] }, 'headers'],
    [{ method: 'GET', path: '/x', query: [['q']] }, 'query'],
    [{ method: 'GET', path: '/x', peer: 127 }, 'peer'],
    [{ method: 'GET', path: '/x', peer: 'nope' }, 'peer'],
    // Several faults: the first field in order is named.
    [{ path: 7, peer: 127 }, 'method'],
    [{ method: 'GET', path: '/x', headers: 'h', peer: 'nope' }, 'headers'],
  ]
  for (const [req, field] of shapes) {
    for (const call of [(r) => gate.decide(r), (r) => gate.decideAsync(r)]) {
      assert.throws(() => call(req), (err) => err.code === 'validation_error' && err.metadata.field === field, JSON.stringify(req))
    }
  }
  // An exception thrown while the request is read reaches the caller as it was thrown.
  const boom = new Error('getter')
  assert.throws(() => gate.decide({ method: 'GET', get path() { throw boom } }), (err) => err === boom)
  // Absent optional fields (undefined or null) are none.
  assert.equal(gate.decide({ method: 'POST', path: '/auth/session', headers: [['X-API-Key', doc.api_key]], query: null, peer: undefined }).allowed, true)
  // A header longer than the stack buffer, or with a two-byte character across its edge, is
  // read whole: the session token at its end still counts.
  clock.setMs(doc.start_ms)
  const issued = gate.issueSession(gate.decide({ method: 'POST', path: '/auth/session', headers: [['X-API-Key', doc.api_key]] }), 'generation')
  for (const pad of ['x'.repeat(5000), 'x'.repeat(480) + 'é'.repeat(20)]) {
    const cookie = `pad=${pad}; gg_session=${issued.token}`
    const d = gate.decide({ method: 'GET', path: '/status/t1', headers: [['Cookie', cookie]] })
    assert.equal(d.allowed, true, JSON.stringify(d.body()))
    assert.equal(gate.decide({ method: 'GET', path: '/status/t1', headers: [['Cookie', cookie.slice(0, -1)]] }).allowed, false)
  }
  assert.throws(() => new iw.Gate(new iw.PolicyConfig(), 'mongodb://x'), { code: 'config_invalid' })
})

test('a decision is a plain object; only the one decide returned for a bootstrap route issues a session', async () => {
  clock.setMs(doc.start_ms)
  const open = { method: 'POST', path: '/auth/session', headers: [['X-API-Key', doc.api_key]] }
  const d = gate.decide(open)
  assert.deepEqual(Object.keys(d), ['allowed', 'preflight', 'status', 'headers', 'principal', 'route', 'code', 'body'])
  assert.deepEqual(
    { allowed: d.allowed, preflight: d.preflight, status: d.status, principal: d.principal, route: d.route, code: d.code, body: d.body() },
    { allowed: true, preflight: false, status: 200, principal: { kind: 'api_key', key_index: 0 }, route: 'session_issue', code: null, body: null },
  )
  // JSON shows the fields, never the hidden envelope key or the grant.
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(d))), ['allowed', 'preflight', 'status', 'headers', 'principal', 'route', 'code'])
  // A copy of a granting decision's fields, a decision of another route, a rejection and
  // values that are no decision at all carry no grant: session_required, nothing issued.
  const gallery = gate.decide({ method: 'GET', path: '/gallery', headers: [['X-API-Key', doc.api_key]] })
  assert.equal(gallery.allowed, true)
  const refused = gate.decide({ method: 'POST', path: '/auth/session' })
  assert.equal(refused.allowed, false)
  const forged = [{ ...d }, Object.assign({}, d), JSON.parse(JSON.stringify(d)), gallery, refused, gate, clock, null, 'x', 7]
  for (const f of forged) {
    assert.throws(() => gate.issueSession(f, 'generation'), { code: 'session_required' }, String(f))
  }
  // The right route for the other kind is refused by the core's own rule.
  assert.throws(() => gate.issueSession(d, 'admin'), { code: 'session_required' })
  // The real one issues, from decide and from decideAsync alike.
  assert.equal(gate.issueSession(d, 'generation').kind, 'generation')
  const later = await gate.decideAsync(open)
  assert.equal(gate.issueSession(later, 'generation').kind, 'generation')
  // A rejection's body is its envelope (with the correlation id); an allowed one has none.
  assert.equal(refused.body().code, refused.code)
  assert.equal(refused.status, 401)
  assert.equal(typeof refused.body().detail, 'string')
  assert.equal(typeof refused.body().metadata.correlation_id, 'string')
  assert.equal(gallery.body(), null)
  // Each kind of principal keeps the keys of its JSON.
  const session = gate.decide({ method: 'GET', path: '/gallery', headers: [['Cookie', `gg_session=${gate.issueSession(gate.decide(open), 'generation').token}`]] })
  assert.deepEqual(Object.keys(session.principal), ['kind', 'session_id'])
  assert.equal(session.principal.kind, 'session')
  assert.equal(gate.decide({ method: 'GET', path: '/health' }).principal.kind, 'public')
})

test('decide and decideAsync read each request property once, in order, and need a Gate', async () => {
  clock.setMs(doc.start_ms)
  for (const name of ['decide', 'decideAsync']) {
    const reads = []
    const fields = { method: 'GET', path: '/gallery', headers: [['X-API-Key', doc.api_key]], query: [['a', 'b']], peer: '192.0.2.9' }
    const req = {}
    for (const [k, v] of Object.entries(fields)) {
      Object.defineProperty(req, k, { get() { reads.push(k); return v }, enumerable: true })
    }
    const d = await gate[name](req)
    assert.equal(d.allowed, true, name)
    assert.deepEqual(reads, ['method', 'path', 'headers', 'query', 'peer'], name)
    // The same request given as a class instance, a proxy or a frozen object decides alike.
    class Req { constructor() { Object.assign(this, fields) } }
    for (const r of [new Req(), new Proxy({ ...fields }, {}), Object.freeze({ ...fields })]) {
      assert.equal((await gate[name](r)).allowed, true, name)
    }
    // A method taken off its gate is refused, as a native method is.
    assert.throws(() => gate[name].call({}, fields), TypeError, name)
  }
  // The field readers behind the wrappers are not part of the API.
  assert.deepEqual(Object.getOwnPropertyNames(iw.Gate.prototype).filter((n) => /Fields$/.test(n)), [])
  assert.equal(gate.decide.name, 'decide')
  assert.equal(gate.decideAsync.length, 1)
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

test('decisions and thrown errors work in worker threads started one after another', async () => {
  // Each worker has its own JS environment: the binding's per-thread JS helpers (the decision
  // factory, the error functions) are made for each and forgotten when it ends.
  const { Worker } = await import('node:worker_threads')
  const { packageDir } = await import('./support.mjs')
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    const iw = require(workerData.pkg)
    const gate = new iw.Gate(iw.PolicyConfig.fromText('[auth]\\napi_keys = ["' + workerData.key + '"]\\n'))
    const d = gate.decide({ method: 'POST', path: '/auth/session', headers: [['X-API-Key', workerData.key]] })
    const issued = gate.issueSession(d, 'generation')
    let code = null
    try { iw.parseTaskRef('ws1::a::b') } catch (e) { code = e.code + ':' + e.status + ':' + e.metadata.rule }
    parentPort.postMessage({ allowed: d.allowed, route: d.route, kind: issued.kind, code })
  `
  for (let i = 0; i < 3; i++) {
    const w = new Worker(source, { eval: true, workerData: { pkg: packageDir, key: doc.api_key } })
    const msg = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })
    assert.deepEqual(msg, { allowed: true, route: 'session_issue', kind: 'generation', code: 'proxy_target_invalid:400:extra_separator' })
    await w.terminate()
  }
  // The main thread's helpers still work after the workers are gone.
  assert.equal(gate.decide({ method: 'GET', path: '/health' }).allowed, true)
  assert.throws(() => iw.parseTaskRef('ws1::a::b'), { code: 'proxy_target_invalid' })
})
