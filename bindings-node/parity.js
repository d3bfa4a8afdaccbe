// Catalogue parity for Node build tooling: the checker from the native binding, a Vite
// plugin that fails `vite build` on drift, and helpers for a `prebuild` script.
'use strict'

const { parityCheck, parityGenerate } = require('./index.js')

/**
 * Checks the platform tree at `root` (its parity.toml). Returns the versioned report plus
 * `exit_code` (0 clean, 1 drift, 2 input error) and `rendered` (text|json|sarif|junit|github).
 */
function check(root = process.cwd(), { format = 'text' } = {}) {
  return parityCheck(String(root), format)
}

/** Writes the generated mirrors (or, with `check: true`, only reports their status). */
function generate(root = process.cwd(), { check: only = false } = {}) {
  return parityGenerate(String(root), only)
}

/** An Error describing a failed report (the rendered findings as its message). */
function driftError(report) {
  const err = new Error(`inferwarden parity: the catalogue and its mirrors disagree\n${report.rendered}`)
  err.code = report.exit_code === 2 ? 'parity_input_error' : 'parity_drift'
  err.report = report
  return err
}

/**
 * A Vite plugin that runs the check when a build starts and fails the build on drift (or
 * on a source that does not parse); warnings do not fail it. Options: `root` (the platform
 * tree, default the Vite root), `format` (for the message, default `text`), and
 * `generatedCheck` (also fail when a generated mirror is stale, default true).
 */
function inferwardenParity(options = {}) {
  let root = options.root
  return {
    name: 'inferwarden-parity',
    apply: 'build',
    configResolved(config) {
      root = root || config.root
    },
    buildStart() {
      const report = check(root, { format: options.format || 'text' })
      if (report.exit_code !== 0) {
        this.error(driftError(report).message)
      }
      if (options.generatedCheck !== false) {
        let files = []
        try {
          files = generate(root, { check: true })
        } catch (err) {
          // No [generate] table: nothing generated to keep current.
          if (err.code !== 'config_invalid') throw err
        }
        const stale = files.filter((f) => f.status !== 'up_to_date')
        if (stale.length) {
          this.error(`inferwarden parity: generated mirrors are out of date: ${stale.map((f) => `${f.path} (${f.status})`).join(', ')}; run \`inferwarden-parity generate\``)
        }
      }
    },
  }
}

module.exports = { check, generate, inferwardenParity, driftError }
