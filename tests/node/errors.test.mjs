// The error contract through the Node binding: the pinned table and the legacy map.
import test from 'node:test'
import assert from 'node:assert/strict'
import { iw, loadVectors } from './support.mjs'

const doc = loadVectors('errors.json')

test('codes match the vectors exactly', () => {
  const listed = iw.listAllErrors()
  assert.deepEqual(listed.map((r) => r.code), doc.codes.map((r) => r.code))
  listed.forEach((row, i) => {
    assert.equal(row.httpStatus, doc.codes[i].http_status, row.code)
    assert.equal(row.family, doc.codes[i].family, row.code)
    assert.equal(row.className, doc.codes[i].class_name, row.code)
  })
})

test('legacy map matches the vectors', () => {
  assert.deepEqual(iw.legacyCodes(), doc.legacy.map((r) => ({ legacy: r.legacy, code: r.code })))
})
