// The routing golden vectors through the Node binding (the same file Rust and pytest run).
import test from 'node:test'
import assert from 'node:assert/strict'
import { iw, loadVectors } from './support.mjs'

const doc = loadVectors('routing.json')
const p = doc.policy
const config = iw.PolicyConfig.fromText(
  `[proxy]\nallow_http = ${p.allow_http}\nallow_ip_literal = ${p.allow_ip_literal}\nallowed_host_suffixes = ${JSON.stringify(p.host_suffixes)}\n`,
)

for (const c of doc.registration) {
  test(`register ${JSON.stringify(c.url)}`, () => {
    const router = new iw.Router(config, {})
    if (c.ok) {
      assert.equal(router.register('acme', c.url).base_url.prefix, c.ok.prefix)
    } else {
      assert.throws(() => router.register('acme', c.url), (err) => err.code === 'proxy_target_invalid' && err.metadata.rule === c.rule)
    }
  })
}

const router = new iw.Router(config, doc.dns)
for (const e of doc.registry) router.register(e.workspace, e.url, e.status, 'worker-key')

for (const c of doc.resolution) {
  test(`resolve ${c.task} ${c.route}`, () => {
    if (c.ok) {
      assert.equal(router.resolve(c.task, c.route).url, c.ok)
    } else {
      assert.throws(() => router.resolve(c.task, c.route), { code: c.code })
    }
  })
}
