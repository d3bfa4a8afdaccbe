// The runtime policy configuration through the Node binding.
import test from 'node:test'
import assert from 'node:assert/strict'
import { iw } from './support.mjs'

test('defaults', () => {
  const c = new iw.PolicyConfig()
  const d = c.toJSON()
  assert.deepEqual(d.stale.processing_ttl_s, { image: 600, video: 1800 })
  assert.equal(c.staleTtlS('unknown'), 600)
  assert.deepEqual(c.validate().errors, [])
  assert.equal(c.workerSettings().video_dedicated.timeout, 900)
})

test('overrides and invalid config name the field', () => {
  const c = iw.PolicyConfig.load(null, { INFERWARDEN_QUEUE__DEGRADED_MAX_DEPTH: '3' })
  assert.equal(c.toJSON().queue.degraded_max_depth, 3)
  assert.throws(
    () => iw.PolicyConfig.fromText('[stale.processing_ttl_s]\nimage = 600\nvideo = 5\n'),
    (err) => {
      assert.equal(err.code, 'config_invalid')
      assert.equal(err.status, 500)
      assert.ok(err.metadata.issues.some((i) => i.field === 'stale.processing_ttl_s.video'))
      return true
    },
  )
  assert.throws(() => iw.PolicyConfig.fromText('{}', 'yaml'), { code: 'config_invalid' })
})

test('secrets are redacted', () => {
  const canary = 'canary-admin-key-0123456789'
  const c = iw.PolicyConfig.load(null, { INFERWARDEN_AUTH__ADMIN_KEY: canary })
  assert.ok(!JSON.stringify(c).includes(canary))
  assert.equal(c.toJSON().auth.admin_key, '[REDACTED]')
})
