// The validate_request golden vectors through the Node binding (the same file Rust and pytest run).
import test from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { iw, loadVectors } from './support.mjs'

const doc = loadVectors('catalogue.json')
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const catalogue = iw.Catalogue.fromJson(readFileSync(join(root, doc.catalogue), 'utf8'))

test('sample catalogue is clean', () => {
  assert.deepEqual(catalogue.check(), { errors: [], warnings: [] })
})

for (const c of doc.cases) {
  test(`catalogue: ${c.name}`, () => {
    if (c.ok) {
      const got = catalogue.validateRequest(c.request, c.shape ?? 'nested')
      assert.equal(got.model_id, c.ok.model_id)
      assert.equal(got.mode, c.ok.mode)
      assert.deepEqual(got.payload, c.ok.payload)
    } else {
      assert.throws(
        () => catalogue.validateRequest(c.request, c.shape ?? 'nested'),
        (err) => {
          assert.equal(err.code, 'validation_error')
          const got = err.metadata.violations.map((v) => `${v.path}|${v.rule}`).sort()
          assert.deepEqual(got, c.violations.map(([p, r]) => `${p}|${r}`).sort())
          return true
        },
      )
    }
  })
}
