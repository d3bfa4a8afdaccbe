// The task-ref golden vectors through the Node binding (the same file Rust and pytest run).
import test from 'node:test'
import assert from 'node:assert/strict'
import { iw, loadVectors } from './support.mjs'

const { cases } = loadVectors('task_ref.json')

test('vector file is complete', () => {
  assert.ok(cases.length >= 40)
})

for (const c of cases) {
  test(`task ref: ${c.name}`, () => {
    if (c.ok) {
      const ref = iw.parseTaskRef(c.input)
      assert.equal(ref.kind, c.ok.kind)
      assert.equal(ref.taskId, c.ok.task_id)
      assert.equal(ref.workspace, c.ok.workspace)
    } else {
      assert.throws(
        () => iw.parseTaskRef(c.input),
        (err) => {
          assert.ok(err instanceof Error)
          assert.equal(err.code, c.error.code)
          assert.equal(err.metadata.rule, c.error.rule)
          assert.equal(err.status, 400)
          assert.ok(err.userAction.length > 0)
          return true
        },
      )
    }
  })
}

test('wrong argument types throw, never crash', () => {
  for (const args of [[undefined], [42], [], [{ toString: () => 'abc' }]]) {
    assert.throws(
      () => iw.parseTaskRef(...args),
      (err) => err instanceof Error && err.code === 'StringExpected',
    )
  }
})

test('a result is a plain object with the keys in a fixed order', () => {
  const local = iw.parseTaskRef('abc')
  assert.equal(Object.getPrototypeOf(local), Object.prototype)
  assert.deepEqual(Object.keys(local), ['kind', 'taskId'])
  assert.equal(local.workspace, undefined)
  const remote = iw.parseTaskRef('acme-gpu-2::t1')
  assert.deepEqual(Object.keys(remote), ['kind', 'taskId', 'workspace'])
  // Plain data properties, as an object literal has.
  remote.kind = 'changed'
  assert.equal(remote.kind, 'changed')
})

test('ids longer than the stack buffer reach the core whole', () => {
  // parseTaskRef copies ids of up to 195 UTF-8 bytes into a stack buffer; a longer string
  // (never a valid id) is read whole, so the core reports it with the same rule whatever
  // sits at the buffer's edge: plain ASCII, or a two-byte character across it.
  for (const id of ['x'.repeat(250), 'x'.repeat(198) + 'é' + 'x'.repeat(10), 'abc::' + 'y'.repeat(300)]) {
    assert.throws(
      () => iw.parseTaskRef(id),
      (err) => err.code === 'proxy_target_invalid' && err.metadata.rule === 'task_id_length',
    )
  }
  // Cut short at 198 bytes (before the two-byte character), this would read as an over-long
  // task id; whole, its second separator is what the core reports first.
  assert.throws(
    () => iw.parseTaskRef('abc::' + 't'.repeat(193) + 'é::x'),
    (err) => err.code === 'proxy_target_invalid' && err.metadata.rule === 'extra_separator',
  )
  // A valid id of the longest allowed length fits and round-trips.
  const longest = 'w'.repeat(64) + '::' + 't'.repeat(128)
  assert.deepEqual(iw.parseTaskRef(longest), {
    kind: 'remote',
    taskId: 't'.repeat(128),
    workspace: 'w'.repeat(64),
  })
})
