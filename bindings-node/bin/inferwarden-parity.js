#!/usr/bin/env node
// inferwarden-parity [check] [ROOT] [--format text|json|sarif|junit|github]
// inferwarden-parity generate [ROOT] [--check]
// Exit 0 clean, 1 drift (or stale mirrors), 2 input error. For `prebuild` scripts:
//   "prebuild": "inferwarden-parity check ."
'use strict'

const { check, generate } = require('../parity.js')

function main(argv) {
  const args = [...argv]
  let command = 'check'
  if (args[0] === 'check' || args[0] === 'generate') command = args.shift()
  let format = 'text'
  let onlyCheck = false
  let root = '.'
  while (args.length) {
    const a = args.shift()
    if (a === '--format') format = args.shift()
    else if (a.startsWith('--format=')) format = a.slice('--format='.length)
    else if (a === '--check') onlyCheck = true
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: inferwarden-parity [check] [ROOT] [--format F] | generate [ROOT] [--check]\n')
      return 0
    } else if (a.startsWith('-')) {
      process.stderr.write(`inferwarden-parity: unknown option ${a}\n`)
      return 2
    } else root = a
  }
  try {
    if (command === 'generate') {
      const files = generate(root, { check: onlyCheck })
      for (const f of files) process.stdout.write(`${f.path}: ${f.status}\n`)
      return files.some((f) => f.status === 'stale' || f.status === 'missing') ? 1 : 0
    }
    const report = check(root, { format })
    process.stdout.write(report.rendered)
    return report.exit_code
  } catch (err) {
    process.stderr.write(`error[${err.code || 'internal_error'}]: ${err.message}\n`)
    return 2
  }
}

process.exitCode = main(process.argv.slice(2))
