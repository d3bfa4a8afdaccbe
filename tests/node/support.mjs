// Shared helpers for the node:test suites: the binding and the golden vectors.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

/**
 * The Node package under test: bindings-node, or the installed copy that
 * scripts/node-install-check.sh names in INFERWARDEN_NODE_PACKAGE.
 */
export const packageDir = process.env.INFERWARDEN_NODE_PACKAGE || join(here, '..', '..', 'bindings-node')

/** The inferwarden Node binding. */
export const iw = require(packageDir)

/** A file of a tool package (vite, typescript), found the way the package under test finds it. */
export function toolFile(tool, file) {
  const manifest = createRequire(join(packageDir, 'package.json')).resolve(`${tool}/package.json`)
  return join(dirname(manifest), file)
}

/** Reads one golden vector file from tests/vectors. */
export function loadVectors(name) {
  return JSON.parse(readFileSync(join(here, '..', 'vectors', name), 'utf8'))
}
