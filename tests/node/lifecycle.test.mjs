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
