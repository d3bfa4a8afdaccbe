// The durable audit log through the Node binding: the golden vectors byte for byte, the
// audit argument of Gate, Router and Lifecycle, a tampered row caught, typed errors.
import test from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { iw, loadVectors } from './support.mjs'

const tempDb = () => join(mkdtempSync(join(tmpdir(), 'iw-audit-')), 'audit.db')

function withSigner(doc, fn) {
  process.env.INFERWARDEN_AUDIT_SIGNING_KEY = doc.signer_key
  try {
    return fn()
  } finally {
    delete process.env.INFERWARDEN_AUDIT_SIGNING_KEY
  }
}

test('vectors: record hashes, head and signed checkpoint byte for byte', () => {
  const doc = loadVectors('audit.json')
  const clock = new iw.ManualClock(0)
  const log = withSigner(doc, () => new iw.AuditLog(`sqlite:${tempDb()}`, undefined, clock))
  assert.equal(log.durable, true)
  assert.equal(log.publicKey, doc.verifier_key)
  for (const rec of doc.records) {
    const e = rec.event
    clock.setMs(e.timestamp_ms)
    const seq = log.append({
      actor: e.actor,
      source: e.source,
      action: e.action,
      target: e.target,
      outcome: e.outcome,
      correlationId: e.correlation_id,
      details: e.details,
    })
    assert.equal(seq, rec.seq)
  }
  assert.deepEqual(log.query({ limit: 10 }).map((r) => r.hash), doc.records.map((r) => r.hash))
  assert.equal(log.checkpoint(), doc.checkpoint_note)
  const report = log.verify({ checkpoints: [doc.checkpoint_note], publicKey: doc.verifier_key })
  assert.equal(report.intact, true)
  assert.equal(report.root, doc.root_hex)
  for (const bad of doc.tampered_notes) {
    assert.throws(() => log.verify({ checkpoints: [bad], publicKey: doc.verifier_key }), { code: 'validation_error' })
  }
  const proof = log.prove(2)
  assert.equal(proof.root, doc.root_hex)
})

test('gate, router and lifecycle write to one durable log; tampering is caught', () => {
  const path = tempDb()
  const url = `sqlite:${path}`
  const config = iw.PolicyConfig.fromText('[cors]\nfrontend_origins = ["https://app.example.com"]\n')
  const log = new iw.AuditLog(url)
  const gate = new iw.Gate(config, undefined, undefined, undefined, log)
  const d = gate.decide({ method: 'GET', path: '/status/t', headers: [['Origin', 'https://evil.example']] })
  assert.equal(d.code, 'cors_origin_blocked')
  assert.equal(gate.auditEvents().at(-1).seq, 0)
  assert.equal(gate.auditLog.verify().intact, true)
  const router = new iw.Router(config, {}, undefined, url)
  assert.throws(() => router.register('acme', 'http://127.0.0.1:1/'), { code: 'proxy_target_invalid' })
  const life = new iw.Lifecycle(iw.PolicyConfig.fromText(`[audit]\nstore = "${url}"\n`), `sqlite:${tempDb()}`)
  assert.equal(life.maintainAudit().prune.deleted, 0)
  const rows = log.query({ limit: 100 })
  assert.ok(rows.length >= 2)
  assert.equal(log.verify().size, rows.length)

  // Someone with the database file edits a row (Node 20 has no SQLite module: Python's).
  execFileSync('python3', [
    '-c',
    "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript(\"DROP TRIGGER iw_audit_log_no_update; UPDATE iw_audit_log SET target = '/elsewhere' WHERE seq = 1;\"); db.close()",
    path,
  ])
  const report = log.verify()
  assert.equal(report.intact, false)
  assert.deepEqual([report.tamper.kind, report.tamper.seq], ['edited', 1])
})

test('bad inputs are typed errors', () => {
  const ring = new iw.AuditLog('memory')
  assert.equal(ring.durable, false)
  assert.equal(ring.append({ actor: 'a', source: 's', action: 'x', target: 't', outcome: 'denied', correlationId: 'c' }), null)
  assert.throws(() => ring.verify(), { code: 'config_invalid' })
  assert.throws(() => ring.checkpoint(), { code: 'config_invalid' })
  assert.throws(
    () => ring.append({ actor: 'a', source: 's', action: 'x', target: 't', outcome: 'maybe', correlationId: 'c' }),
    { code: 'validation_error' },
  )
  assert.throws(() => new iw.AuditLog('mysql://x'), { code: 'config_invalid' })
  assert.throws(() => iw.PolicyConfig.fromText('[audit]\nretention_days = 30\n'), { code: 'config_invalid' })
  const log = new iw.AuditLog(`sqlite:${tempDb()}`)
  assert.throws(() => log.prove(-1), { code: 'validation_error' })
  assert.throws(() => log.hmac('x'), { code: 'config_invalid' })
})
