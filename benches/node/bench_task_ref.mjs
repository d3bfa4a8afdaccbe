// Node call cost of task-ref parsing through the binding (same cases as the criterion bench).
// Run: node benches/node/bench_task_ref.mjs   (after `cd bindings-node && npx napi build --platform --release`)
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const iw = require('../../bindings-node')

const cases = {
  local: '3f2b9c1e-7a4d-4f0e-9b1a-2c3d4e5f6a7b',
  remote: 'acme-gpu-2::3f2b9c1e-7a4d-4f0e-9b1a-2c3d4e5f6a7b',
  reject_hostile: 'evil.example%23::x',
  reject_extra_sep: 'ws1::a::b',
}

function perCallNs(raw, n = 200_000) {
  let best = Infinity
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) {
      try {
        iw.parseTaskRef(raw)
      } catch {
        // rejected ids throw; the cost of the throw is part of the measurement
      }
    }
    const dt = Number(process.hrtime.bigint() - t0) / n
    best = Math.min(best, dt)
  }
  return best
}

console.log('case               binding ns/call')
for (const [name, raw] of Object.entries(cases)) {
  console.log(`${name.padEnd(18)} ${perCallNs(raw).toFixed(0).padStart(15)}`)
}
