// Gate.decideAsync: the same decisions as decide, as a promise settled off the JS thread;
// a rejection still resolves (a Decision), a bad request shape still throws synchronously.
import test from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { iw } from './support.mjs'

const API = 'canary-node-async-api-key-0123456789'
const ADMIN = 'canary-node-async-admin-key-0123456789'
const config = () => iw.PolicyConfig.fromText(`[auth]\napi_keys = ["${API}"]\nadmin_key = "${ADMIN}"\n`)

// A thread's scheduling policy (Linux: /proc/<pid>/task/<tid>/stat, field 41).
const policy = (tid) => {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3])
}

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

// The native runtime's threads (core's runtime, handed to napi-rs when the module loads) never
// preempt the JS thread when a store reply wakes them: Linux SCHED_BATCH (policy 3 in
// /proc/<pid>/task/<tid>/stat, field 41). The JS thread keeps its policy.
test('the native runtime threads run in SCHED_BATCH and the JS thread keeps its policy', { skip: process.platform !== 'linux' }, async () => {
  const before = policy(process.pid)
  await iw.metricsAsync() // runs on the runtime's blocking pool
  const policies = new Map()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'inferwarden-rt') policies.set(tid, policy(tid))
    } catch { /* the thread ended meanwhile */ }
  }
  assert.ok(policies.size > 0, 'no thread of the native runtime was found')
  assert.deepEqual([...new Set(policies.values())], [3], JSON.stringify([...policies]))
  assert.equal(policy(process.pid), before)
})

// INFERWARDEN_RUNTIME_SCHED: `normal` keeps the default policy; any value but batch/normal is
// config_invalid, and every promise of the module rejects with it (read when the module loads).
test('INFERWARDEN_RUNTIME_SCHED=normal changes nothing and a bad value rejects the promises', { skip: process.platform !== 'linux' }, async () => {
  const { execFileSync } = await import('node:child_process')
  const { packageDir } = await import('./support.mjs')
  const child = `
    const { readdirSync, readFileSync } = require('node:fs')
    const iw = require(${JSON.stringify(packageDir)})
    iw.metricsAsync().then(() => {
      const policies = new Set()
      for (const tid of readdirSync('/proc/self/task')) {
        try {
          if (readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim() !== 'inferwarden-rt') continue
          const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8')
          policies.add(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]))
        } catch {}
      }
      const self = readFileSync('/proc/self/task/' + process.pid + '/stat', 'utf8')
      console.log(JSON.stringify({ policies: [...policies], caller: Number(self.slice(self.lastIndexOf(')') + 2).split(' ')[38]) }))
    }, (e) => console.log(JSON.stringify({ code: e.code, field: e.metadata && e.metadata.field })))`
  const run = (value) => JSON.parse(execFileSync(process.execPath, ['-e', child], {
    env: { ...process.env, INFERWARDEN_RUNTIME_SCHED: value }, encoding: 'utf8'
  }))
  // `normal` changes nothing: the runtime's threads keep what they inherit from the JS thread.
  const caller = policy(process.pid)
  assert.deepEqual(run('normal'), { policies: [caller], caller })
  assert.deepEqual(run('batch'), { policies: [3], caller })
  assert.deepEqual(run('fifo'), { code: 'config_invalid', field: 'INFERWARDEN_RUNTIME_SCHED' })
})

// Promises made from worker threads run on core's runtime too, also after the first worker
// that loaded the module has exited (napi-rs tears its own runtime down when no environment is
// left; core's runtime lives as long as the process).
test('worker threads decide on core\'s runtime, also after an earlier worker exited', { skip: process.platform !== 'linux' }, async () => {
  const { execFileSync } = await import('node:child_process')
  const { packageDir } = await import('./support.mjs')
  const child = `
    const { Worker } = require('node:worker_threads')
    const { readdirSync, readFileSync } = require('node:fs')
    const code = "const iw = require(" + JSON.stringify(${JSON.stringify(packageDir)}) + ");" +
      "const { parentPort } = require('node:worker_threads');" +
      "iw.metricsAsync().then(() => parentPort.postMessage('ok'), (e) => parentPort.postMessage('err ' + e.code))"
    const once = () => new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true })
      w.once('error', reject)
      w.once('message', (m) => w.terminate().then(() => resolve(m)))
    })
    ;(async () => {
      const first = await once()
      await new Promise((resolve) => setTimeout(resolve, 200))
      const second = await once()
      const names = {}
      for (const tid of readdirSync('/proc/self/task')) {
        try {
          const name = readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim()
          if (name !== 'inferwarden-rt' && !name.startsWith('tokio')) continue
          const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8')
          names[name + ' ' + stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]] = true
        } catch {}
      }
      console.log(JSON.stringify({ first, second, threads: Object.keys(names).sort() }))
    })()`
  const out = JSON.parse(execFileSync(process.execPath, ['-e', child], { encoding: 'utf8' }))
  assert.deepEqual(out, { first: 'ok', second: 'ok', threads: ['inferwarden-rt 3'] })
})
