// Differential test: every worker base URL the registry accepts must mean the same origin to
// the WHATWG URL parser (Node's `URL`, what browsers and fetch use): same scheme, same host,
// same effective port. Inputs: the fuzz corpus of the `target_url` target (tests/fuzz) plus
// a generated set of the forms where URL parsers are known to disagree (IPv4 shorthands,
// case, trailing dots, ports with leading zeros, userinfo, backslashes, tabs, escapes).
import test from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { iw } from './support.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const config = iw.PolicyConfig.fromText('[proxy]\nallow_http = true\nallow_ip_literal = true\n')

function corpusUrls() {
  const dir = join(here, '..', 'fuzz', 'corpus', 'target_url')
  return readdirSync(dir).map((f) => {
    const bytes = readFileSync(join(dir, f))
    // First byte: the policy flags of the fuzz oracle; then the URL up to the first newline.
    return bytes.subarray(1).toString('utf8').split('\n')[0]
  })
}

function generatedUrls() {
  const hosts = [
    'worker.example.run', 'WORKER.Example.RUN', 'worker.example.run.', 'xn--wrker-jua.example.run',
    '127.0.0.1', '127.1', '0x7f.0.0.1', '2130706433', '017700000001', '[::1]', '[::ffff:7f00:1]',
    '[0:0:0:0:0:0:0:1]', 'worker_1.example.run', 'wörker.example.run', '%77orker.example.run',
    'worker.example.run%2f', 'a..b.example.run', '-worker.example.run', '1.2.3.4.5',
  ]
  const ports = ['', ':0', ':80', ':080', ':443', ':8443', ':65535', ':65536', ':', ':+80', ':-1']
  const tails = ['', '/', '/v1', '/v1/', '/a%2Fb', '/a/../b', '?q=1', '#f', '\\x', '/a b']
  const out = []
  for (const scheme of ['https://', 'http://', 'HTTPS://', 'https:/', 'https:\\\\']) {
    for (const host of hosts) {
      for (const port of ports) out.push(`${scheme}${host}${port}`)
      for (const tail of tails) out.push(`${scheme}${host}${tail}`)
    }
  }
  out.push('https://user@worker.example.run', 'https://user:pw@worker.example.run')
  out.push('https://worker.example.run\t/v1', ' https://worker.example.run', 'https://worker.example.run\n')
  return out
}

const defaultPort = { http: 80, https: 443 }

test('every accepted base URL has the same scheme, host and port under WHATWG URL', () => {
  const urls = [...corpusUrls(), ...generatedUrls()]
  let accepted = 0
  for (const url of urls) {
    const router = new iw.Router(config, {})
    let entry
    try {
      entry = router.register('acme', url, 'ready', 'k', true)
    } catch (err) {
      assert.equal(err.code, 'proxy_target_invalid', `${JSON.stringify(url)}: ${err.message}`)
      continue
    }
    accepted += 1
    const ours = entry.base_url
    let theirs
    try {
      theirs = new URL(url)
    } catch {
      assert.fail(`${JSON.stringify(url)} is accepted but WHATWG URL refuses it`)
    }
    const scheme = theirs.protocol.replace(/:$/, '')
    assert.equal(ours.scheme, scheme, `${JSON.stringify(url)}: scheme`)
    assert.equal(ours.host, theirs.hostname.replace(/^\[|\]$/g, ''), `${JSON.stringify(url)}: host`)
    const theirPort = theirs.port === '' ? defaultPort[scheme] : Number(theirs.port)
    assert.equal(ours.port ?? defaultPort[scheme], theirPort, `${JSON.stringify(url)}: port`)
    assert.equal(theirs.username, '', `${JSON.stringify(url)}: user-info`)
  }
  assert.ok(accepted >= 20, `only ${accepted} URLs accepted: the generator lost its valid forms`)
})
