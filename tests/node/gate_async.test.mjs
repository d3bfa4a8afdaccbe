// Gate.decideAsync: the same decisions as decide, as a promise settled off the JS thread;
// a rejection still resolves (a Decision), a bad request shape still throws synchronously.
import test from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { iw } from './support.mjs'

const API = 'canary-node-async-api-key-0123456789'
const ADMIN = 'canary-node-async-admin-key-0123456789'
const config = () => iw.PolicyConfig.fromText(`[auth]\napi_keys = ["${API}"]\nadmin_key = "${ADMIN}"\n`)

test('decideAsync answers as decide does, for in-memory and SQLite-backed gates', async () => {
  const memory = new iw.Gate(config())
  const sqlite = new iw.Gate(config(), `sqlite:${join(mkdtempSync(join(tmpdir(), 'iw-gate-async-')), 's.db')}`)
  assert.equal(memory.mayBlock, false)
  assert.equal(sqlite.mayBlock, true)
  for (const gate of [memory, sqlite]) {
    const open = gate.decide({ method: 'POST', path: '/auth/session', headers: [['X-API-Key', API]] })
    const cookie = gate.issueSession(open, 'generation').setCookie.split(';')[0]
    for (const headers of [[['X-API-Key', API]], [['Cookie', cookie]], [], [['X-API-Key', 'wrong']]]) {
      const req = { method: 'GET', path: '/gallery', headers }
      const sync = gate.decide(req)
      const pending = gate.decideAsync(req)
      assert.ok(pending instanceof Promise)
      const later = await pending
      assert.deepEqual([later.allowed, later.status, later.code], [sync.allowed, sync.status, sync.code])
    }
  }
  assert.throws(() => memory.decideAsync({ method: 'GET', path: '/x', peer: 'nope' }), { code: 'validation_error' })
})

test('an issued session never prints its token', async () => {
  const { inspect } = await import('node:util')
  const gate = new iw.Gate(config())
  const issued = gate.issueSession(gate.decide({ method: 'POST', path: '/auth/session', headers: [['X-API-Key', API]] }), 'generation')
  assert.equal(issued.token.length, 43)
  assert.ok(issued.setCookie.includes(issued.token))
  for (const printed of [inspect(issued), JSON.stringify(issued), String(issued), `${JSON.stringify({ issued })}`]) {
    assert.ok(!printed.includes(issued.token), printed)
  }
  assert.equal(JSON.parse(JSON.stringify(issued)).kind, 'generation')
})

test('decideAsync decides on the spot when nothing has to wait: the promise is already settled', async () => {
  const { inspect } = await import('node:util')
  const memory = new iw.Gate(config())
  const req = { method: 'GET', path: '/gallery', headers: [['X-API-Key', API]] }
  const settled = memory.decideAsync(req)
  // Inspected before any other tick: a promise settled by a worker thread is still pending.
  assert.doesNotMatch(inspect(settled), /<pending>/)
  assert.equal((await settled).allowed, true)
  // An admin route over SQLite writes after its throttle, so it is never decided on the spot.
  const sqlite = new iw.Gate(config(), `sqlite:${join(mkdtempSync(join(tmpdir(), 'iw-gate-async-')), 's.db')}`)
  const boot = sqlite.decide({ method: 'POST', path: '/admin/session', headers: [['x-admin-key', ADMIN]] })
  const cookie = sqlite.issueSession(boot, 'admin').setCookie.split(';')[0]
  const later = sqlite.decideAsync({ method: 'GET', path: '/admin/accounts', headers: [['Cookie', cookie]] })
  assert.match(inspect(later), /<pending>/)
  assert.equal((await later).allowed, true)
})
