// The proxy through the Node binding against a real HTTP server on loopback: promises that
// resolve with validated payloads or reject with coded errors, streamed media, generate, the
// gallery fan-out, and a credential that reaches only the registered origin.
import test from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { iw } from './support.mjs'

const KEY = 'canary-node-worker-key-3c1d'
const CHUNKS = [0, 1, 2, 3].map((i) => Buffer.alloc(32768, i))
const seen = []
const posted = []

const server = http.createServer(async (req, res) => {
  seen.push({ url: req.url, headers: req.headers })
  if (req.method === 'POST') {
    let body = ''
    for await (const c of req) body += c
    posted.push(JSON.parse(body))
    res.writeHead(202, { 'content-type': 'application/json' })
    return res.end('{"task_id":"r-5"}')
  }
  if (req.url === '/status/t-1') {
    res.writeHead(200, { 'content-type': 'application/json' })
    return res.end(JSON.stringify({ status: 'processing', progress: 250, preview_url: 'https://elsewhere/p.png' }))
  }
  if (req.url === '/results/t-1') {
    res.writeHead(200, { 'content-type': 'video/mp4' })
    for (const c of CHUNKS) {
      res.write(c)
      await new Promise((r) => setTimeout(r, 20))
    }
    return res.end()
  }
  if (req.url === '/preview/t-1') {
    res.writeHead(200, { 'content-type': 'text/html' })
    return res.end('<script>steal()</script>')
  }
  if (req.url.startsWith('/gallery?limit=')) {
    res.writeHead(200, { 'content-type': 'application/json' })
    return res.end(JSON.stringify({ items: [{ task_id: 'g1', created_at: 5 }, { task_id: 'g2', created_at: 9 }] }))
  }
  if (req.url === '/status/boom') {
    res.writeHead(502)
    return res.end('remote-secret-body')
  }
  res.writeHead(404)
  res.end('remote-secret-body')
})

await new Promise((r) => server.listen(0, '127.0.0.1', r))
const port = server.address().port
test.after(() => server.close())

function router() {
  const config = iw.PolicyConfig.fromText('[proxy]\nallow_http = true\nbackoff_base_ms = 5\n')
  const r = new iw.Router(config, { 'ws-1.workers.test': ['127.0.0.1'] }, { credentials: { 'ws-1-key': KEY } })
  r.register('ws-1', `http://ws-1.workers.test:${port}`, 'ready', 'ws-1-key', true)
  return r
}

function noLeak(err) {
  const text = JSON.stringify({ message: err.message, metadata: err.metadata, detail: err.detail })
  for (const canary of [KEY, 'remote-secret-body', '127.0.0.1', 'workers.test:']) {
    assert.ok(!text.includes(canary), text)
  }
}

test('status resolves with a validated, rewritten payload and pins the credential', async () => {
  const st = await router().status('ws-1::t-1')
  assert.deepEqual(st, {
    task_id: 'ws-1::t-1', status: 'processing', progress: 100,
    result_url: null, preview_url: '/preview/ws-1::t-1', error: null,
  })
  const last = seen.at(-1)
  assert.equal(last.headers['x-api-key'], KEY)
  assert.equal(last.headers.host, `ws-1.workers.test:${port}`)
})

test('failures reject with coded errors that leak nothing', async () => {
  const r = router()
  await assert.rejects(r.status('ws-1::missing'), (e) => e.code === 'task_not_found' && (noLeak(e), true))
  await assert.rejects(r.status('ws-1::boom'), (e) => e.code === 'remote_unavailable' && e.metadata.remote_status === 502 && (noLeak(e), true))
  await assert.rejects(r.status('evil.example%23::x'), (e) => e.code === 'proxy_target_invalid')
  await assert.rejects(r.status('ws-9::x'), (e) => e.code === 'task_not_found')
  assert.ok(!JSON.stringify(r.auditEvents()).includes(KEY))
})

test('results stream chunk by chunk; html previews are refused', async () => {
  const r = router()
  const body = await r.results('ws-1::t-1')
  assert.equal(body.contentType, 'video/mp4')
  const parts = []
  for (let c = await body.read(); c !== null; c = await body.read()) parts.push(c)
  assert.deepEqual(Buffer.concat(parts), Buffer.concat(CHUNKS))
  assert.ok(parts.length >= 2, `${parts.length} chunks`)
  await assert.rejects(r.preview('ws-1::t-1'), (e) => e.code === 'remote_unavailable' && e.metadata.reason === 'content_type')
})

test('generate and gallery', async () => {
  const r = router()
  const acc = await r.generate('ws-1', { model: 'm', prompt: 'a fox' })
  assert.deepEqual(acc, { task_id: 'ws-1::r-5', workspace: 'ws-1', status_url: '/status/ws-1::r-5' })
  assert.deepEqual(posted.at(-1), { model: 'm', prompt: 'a fox' })
  assert.ok(seen.at(-1).headers['idempotency-key'])
  const [g, st] = await Promise.all([r.gallery(10), r.status('ws-1::t-1')])
  assert.deepEqual(g.items.map((i) => i.task_id), ['ws-1::g2', 'ws-1::g1'])
  assert.equal(st.status, 'processing')
  await assert.rejects(r.gallery(0), (e) => e.code === 'validation_error')
  await assert.rejects(r.generate('Bad Name', {}), (e) => e.code === 'proxy_target_invalid')
})

test('a missing credential is server_misconfigured and sends nothing', async () => {
  const config = iw.PolicyConfig.fromText('[proxy]\nallow_http = true\n')
  const r = new iw.Router(config, { 'ws-1.workers.test': ['127.0.0.1'] }, { credentialsFromEnv: false })
  r.register('ws-1', `http://ws-1.workers.test:${port}`, 'ready', 'nope', true)
  const before = seen.length
  await assert.rejects(r.status('ws-1::t-1'), (e) => e.code === 'server_misconfigured' && e.metadata.credential_ref === 'nope')
  assert.equal(seen.length, before)
})
