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

/**
 * An Error describing a failed report: the rendered findings as its message, and as its
 * stack too, so a bundler that prints `err.stack` shows the findings once and no frames.
 */
function driftError(report) {
  const what = report.exit_code === 2 ? 'an input error' : 'drift'
  const message = `${report.rendered.trimEnd()}\n(catalogue parity: ${what}; exit code ${report.exit_code})`
  const err = new Error(message)
  err.code = report.exit_code === 2 ? 'parity_input_error' : 'parity_drift'
  err.report = report
  err.stack = message
  return err
}

/**
 * An Error for `this.error` that a bundler prints once, under one prefix, with no stack
 * frames. Rollup prefixes the message with `[plugin NAME]` and Vite prefixes it again with
 * `[NAME]`, then prints `err.stack` after stripping a leading `NAME: MESSAGE` line: so the
 * message drops Rollup's prefix, and the stack is that line alone until a bundler sets it.
 */
function pluginError(message, code) {
  const err = new Error(message)
  const rollupPrefix = /^\[plugin inferwarden-parity\] /
  let text = message
  let stack
  Object.defineProperty(err, 'message', {
    get: () => text,
    set: (value) => {
      text = String(value).replace(rollupPrefix, '')
    },
    configurable: true,
  })
  Object.defineProperty(err, 'stack', {
    get: () => stack ?? `${err.name}: ${text}\n`,
    set: (value) => {
      stack = value
    },
    configurable: true,
  })
  err.pluginCode = code
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
        const err = driftError(report)
        this.error(pluginError(err.message, err.code))
      }
      // A passing build still shows its warnings (hard-coded model ids and the like).
      if (report.findings.length) {
        this.warn(report.rendered.trimEnd())
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
          const message = `generated mirrors are out of date: ${stale.map((f) => `${f.path} (${f.status})`).join(', ')}; run \`inferwarden-parity generate\``
          this.error(pluginError(message, 'parity_generated_stale'))
        }
      }
    },
  }
}

module.exports = { check, generate, inferwardenParity, driftError }
