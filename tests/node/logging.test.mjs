// setLogger: the library's log records reach a JS callback (refusals with their code and
// correlation id, at the chosen level and above), none carries a secret, and
// setLogger(null) stops them.
import test from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { iw } from './support.mjs'

const API = 'canary-node-log-api-key-0123456789abcd'
const ADMIN = 'canary-node-log-admin-key-0123456789ab'

test('refusals reach the callback with their code; secrets never do; null stops it', async () => {
  const records = []
  iw.setLogger((r) => records.push(r), 'debug')
  try {
    const gate = new iw.Gate(iw.PolicyConfig.fromText(`[auth]\napi_keys = ["${API}"]\nadmin_key = "${ADMIN}"\n[sessions]\nsecure = false\n`))
    const boot = gate.decide({ method: 'POST', path: '/admin/session', headers: [['X-Admin-Key', ADMIN]] })
    const cookie = gate.issueSession(boot, 'admin').setCookie.split(';')[0]
    gate.decide({ method: 'GET', path: '/admin/accounts', headers: [['Cookie', cookie]] })
    gate.decide({ method: 'GET', path: '/gallery', headers: [['X-API-Key', API]], query: [['api_key', API]] })
    gate.decide({ method: 'GET', path: '/gallery', headers: [['X-API-Key', 'canary-wrong-node-key-7']] })
    gate.decide({ method: 'GET', path: '/admin/accounts', headers: [['X-Admin-Key', ADMIN]] })
    for (let i = 0; i < 50 && !records.some((r) => r.message.includes('invalid_api_key')); i++) await sleep(10)
    const refused = records.filter((r) => r.target === 'inferwarden::gate' && r.level === 'info')
    assert.ok(refused.some((r) => /request refused .*code="invalid_api_key" correlation_id="[^"]+"/.test(r.message)), JSON.stringify(records))
    assert.ok(records.some((r) => r.level === 'debug' && r.message.startsWith('request allowed')))
    const token = cookie.split('=')[1]
    for (const r of records) {
      for (const secret of [API, ADMIN, token, 'canary-wrong-node-key-7']) assert.ok(!r.message.includes(secret), r.message)
    }
    // Info and above only: no debug records.
    iw.setLogger((r) => records.push(r), 'info')
    records.length = 0
    gate.decide({ method: 'GET', path: '/gallery', headers: [['X-API-Key', API]] })
    gate.decide({ method: 'GET', path: '/gallery' })
    for (let i = 0; i < 50 && records.length === 0; i++) await sleep(10)
    assert.ok(records.length > 0 && records.every((r) => r.level !== 'debug'), JSON.stringify(records))
    assert.throws(() => iw.setLogger(() => {}, 'verbose'), { code: 'validation_error', message: /unknown log level/ })
  } finally {
    iw.setLogger(null)
  }
  records.length = 0
  new iw.Gate(iw.PolicyConfig.fromText(`[auth]\napi_keys = ["${API}"]\n`)).decide({ method: 'GET', path: '/gallery' })
  await sleep(50)
  assert.equal(records.length, 0)
})
