// The task lifecycle through the Node binding on SQLite.
import test from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { iw } from './support.mjs'

const T0 = 1_800_000_000_000
const MIN = 60_000

test('claim, stale sweep, late done refused', () => {
  const clock = new iw.ManualClock(T0)
  const db = `sqlite:${join(mkdtempSync(join(tmpdir(), 'iw-')), 'tasks.db')}`
  const life = new iw.Lifecycle(new iw.PolicyConfig(), db, clock)
  life.create('v1', 'video')
  const claim = life.claim('v1', 'w')
  assert.equal(claim.ttl_ms, 30 * MIN)
  clock.setMs(T0 + 30 * MIN + 1)
  const report = life.sweep()
  assert.deepEqual(report.failed.map((t) => [t.task_id, t.reason]), [['v1', 'stale_timeout']])
  assert.throws(() => life.complete('v1', claim.lease_id, '/late.mp4', 'w'), (err) => {
    assert.equal(err.code, 'invalid_transition')
    assert.equal(err.metadata.outcome, 'already_failed')
    return true
  })
  assert.equal(life.get('v1').status, 'failed')
  assert.ok(life.auditEvents().some((e) => e.action === 'late_completion_rejected'))
  assert.throws(() => life.claim('nope', 'w'), { code: 'task_not_found' })
})

test('heartbeats keep a worker alive; a silent one fails as heartbeat_timeout', () => {
  const clock = new iw.ManualClock(T0)
  const db = `sqlite:${join(mkdtempSync(join(tmpdir(), 'iw-')), 'hb.db')}`
  const config = iw.PolicyConfig.load(null, { INFERWARDEN_STALE__HEARTBEAT_TIMEOUT_S: '120' })
  const life = new iw.Lifecycle(config, db, clock)
  life.create('silent', 'video')
  life.claim('silent', 'w')
  life.create('alive', 'video')
  const alive = life.claim('alive', 'w')
  clock.setMs(T0 + 100_000)
  assert.deepEqual(life.heartbeat('alive', alive.lease_id), { outcome: 'applied', runtime_ms: 0 })
  assert.deepEqual(life.reportProgress('alive', alive.lease_id, 40), { outcome: 'applied', runtime_ms: 0 })
  clock.setMs(T0 + 120_001)
  const report = life.sweep()
  assert.deepEqual(report.failed.map((t) => [t.task_id, t.reason]), [['silent', 'heartbeat_timeout']])
  assert.equal(life.get('alive').progress, 40)
  assert.throws(() => life.heartbeat('alive', 'wrong'), { code: 'invalid_transition' })
})
