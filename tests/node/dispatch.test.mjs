// GPU dispatch through the Node binding: VRAM levels and budgets, OOM classification,
// placement from the catalogue, lane routing with the degraded queue, and the pipeline slot.
import test from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { iw } from './support.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const T0 = 1_000_000

test('levels, budgets, OOM classification', () => {
  assert.equal(iw.budgetGb('T4'), 16)
  assert.equal(iw.budgetGb('mystery'), 24)
  assert.equal(typeof iw.vramLevel(20_000), 'string')
  assert.equal(iw.vramLevel(null), 'red', 'unknown free memory is treated as the lowest level')
  assert.equal(iw.classifyWorkerError('RuntimeError: CUDA out of memory').code, 'gpu_memory_exceeded')
  assert.equal(iw.classifyWorkerError('ValueError: bad prompt'), null)
})

test('placement by the catalogue vram_min_gb', () => {
  const text = readFileSync(join(here, '..', '..', 'examples', 'platform', 'src', 'inference_settings.json'), 'utf8')
  const catalogue = iw.Catalogue.fromJson(text)
  const devices = [
    { index: 0, kind: 'T4', freeMib: 12_000 },
    { index: 1, kind: 'L4', freeMib: 20_000 },
  ]
  assert.equal(iw.placeModel(catalogue, 'sdxl-turbo', devices), 0)
  assert.equal(iw.placeModel(catalogue, 'flux-dev', devices), 1)
  assert.throws(() => iw.placeModel(catalogue, 'wan-remix', devices.slice(0, 1)), (err) => {
    assert.equal(err.code, 'gpu_memory_exceeded')
    assert.equal(err.metadata.model, 'wan-remix')
    return true
  })
  assert.throws(() => iw.placeModel(catalogue, 'nope', devices), { code: 'validation_error' })
})

test('lane routing: dedicated, degraded with a cause, then queue_overloaded', () => {
  const clock = new iw.ManualClock(T0)
  const router = new iw.LaneRouter(new iw.PolicyConfig(), 60, clock)
  router.setLane('wan', { ready: true })
  assert.equal(router.route('wan').lane, 'dedicated')
  router.setLane('wan', { ready: true, quotaDenied: true })
  const held = []
  for (let i = 0; i < 25; i++) {
    const h = router.route('wan')
    assert.equal(h.lane, 'degraded')
    assert.equal(h.cause, 'quota')
    held.push(h)
  }
  assert.throws(() => router.route('wan'), (err) => {
    assert.equal(err.code, 'queue_overloaded')
    assert.equal(err.metadata.max_depth, 25)
    return true
  })
  clock.advanceMs(10_000)
  assert.equal(held[0].start(), 10_000)
  held[1].release()
  assert.equal(router.route('wan').lane, 'degraded', 'a released slot is free again')
  const m = router.metrics()
  assert.equal(m.queue.depth, 25)
  assert.deepEqual([m.queue.started, m.queue.mean_wait_ms, m.queue.longest_wait_ms], [1, 10_000, 10_000])
  assert.deepEqual(m.lanes.wan, { available: false, unavailable_cause: 'quota', cold_starts: 1 })
  assert.equal(m.cold_starts, 1)
})

test('pipeline slot: a different model is released through clearCache first', () => {
  const slot = new iw.PipelineSlot(600, new iw.ManualClock(T0))
  const cleared = []
  assert.equal(slot.acquire('wan', (m) => cleared.push(m)), false)
  slot.markLoaded('wan')
  assert.deepEqual(slot.state, { state: 'active', model: 'wan' })
  assert.equal(slot.acquire('wan', (m) => cleared.push(m)), true)
  assert.equal(slot.acquire('ltx', (m) => cleared.push(m)), false)
  assert.deepEqual(cleared, ['wan'])
  assert.throws(() => slot.markLoaded('wan'), { code: 'invalid_transition' })
  slot.markLoaded('ltx')
  const event = slot.recordGeneration('L4', 20_000, 24_577, false)
  assert.deepEqual(event, {
    model: 'ltx', gpu_kind: 'L4', cleanup_done: false, allocated_mib: 20_000, reserved_mib: 24_577,
    budget_mib: 24_576, budget_exceeded: true, at_ms: T0,
  })
  assert.equal(slot.recordGeneration('T4', 100, 16_384, true).budget_exceeded, false)
  assert.throws(() => slot.acquire('wan', () => { throw new Error('cache clear failed') }), /cache clear failed/)
  assert.throws(() => slot.recordGeneration('T4', 1, 1, true), { code: 'invalid_transition' })
  const m = slot.metrics()
  assert.deepEqual([m.cold_loads, m.warm_hits, m.switches, m.generations, m.budget_exceeded, m.cleanups_missed], [2, 1, 1, 2, 1, 1])
})

test('two replicas share one degraded queue in Redis', (t) => {
  const url = process.env.INFERWARDEN_TEST_REDIS_URL
  if (!url) {
    assert.ok(!process.env.INFERWARDEN_REQUIRE_SERVICES, 'INFERWARDEN_TEST_REDIS_URL missing but services are required')
    return t.skip('INFERWARDEN_TEST_REDIS_URL not set (run scripts/test.sh)')
  }
  const db = url.replace(/\/+$/, '').replace(/\/\d+$/, '') + '/9'
  const config = iw.PolicyConfig.fromText('[queue]\ndegraded_max_depth = 2\n')
  const a = new iw.LaneRouter(config, 60, null, db)
  const b = new iw.LaneRouter(config, 60, null, db)
  a.setLane('ltx', { ready: false })
  b.setLane('ltx', { ready: false })
  const held = [a.route('ltx'), b.route('ltx')]
  assert.throws(() => a.route('ltx'), (err) => err.code === 'queue_overloaded' && err.metadata.depth === 2)
  held[1].release()
  const again = b.route('ltx')
  assert.equal(again.lane, 'degraded')
  again.release()
  held[0].release()
  assert.throws(() => new iw.LaneRouter(config, 60, null, 'postgres://x'), (err) => err.code === 'config_invalid')
})
