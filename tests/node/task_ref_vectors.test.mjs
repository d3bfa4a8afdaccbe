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
  assert.throws(() => iw.parseTaskRef(undefined))
  assert.throws(() => iw.parseTaskRef(42))
})
