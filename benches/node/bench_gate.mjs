// Node call cost of a full gate decision (valid API key, valid in-memory session).
// Run: node benches/node/bench_gate.mjs   (after a release napi build)
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const iw = require('../../bindings-node')
const KEY = 'bench-api-key-0123456789abcdef'

const gate = new iw.Gate(iw.PolicyConfig.fromText(`[auth]\napi_keys = ["${KEY}"]\n`))
const d = gate.decide({ method: 'POST', path: '/auth/session', headers: [['X-API-Key', KEY]] })
const token = gate.issueSession(d, 'generation').token

function perCallUs(req, n = 50_000) {
  let best = Infinity
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) gate.decide(req).allowed
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n / 1000)
  }
  return best
}

const key = { method: 'GET', path: '/status/t1', headers: [['X-API-Key', KEY], ['Accept', 'application/json']] }
const session = { method: 'GET', path: '/status/t1', headers: [['Cookie', `gg_session=${token}`]] }
console.log(`gate.decide (API key)         ${perCallUs(key).toFixed(2).padStart(8)} us`)
console.log(`gate.decide (memory session)  ${perCallUs(session).toFixed(2).padStart(8)} us`)
