// The GPU probe through the Node binding: no driver is an ordinary answer.
import test from 'node:test'
import assert from 'node:assert/strict'
import { iw } from './support.mjs'

test('probe returns a report without throwing', () => {
  const r = iw.probeGpus()
  assert.ok(Array.isArray(r.devices))
  if (!r.driver_present) assert.equal(r.devices.length, 0)
  // The optional NVML view is an ordinary answer without NVML too.
  assert.deepEqual(Object.keys(r.nvml).sort(), ['available', 'devices', 'driver_version', 'note'])
  if (!r.nvml.available) assert.ok(r.nvml.devices.length === 0 && r.nvml.note)
})
