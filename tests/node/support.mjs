// Shared helpers for the node:test suites: the binding and the golden vectors.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

/** The inferwarden Node binding (bindings-node). */
export const iw = require(join(here, '..', '..', 'bindings-node'))

/** Reads one golden vector file from tests/vectors. */
export function loadVectors(name) {
  return JSON.parse(readFileSync(join(here, '..', 'vectors', name), 'utf8'))
}
