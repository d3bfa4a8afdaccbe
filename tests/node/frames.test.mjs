// Frame conversion through the Node binding against a scalar JavaScript reference: Float32Array,
// Uint16Array (float16 and bfloat16 bit patterns) and raw Buffers, both layouts, odd sizes, the
// edge values of the contract, the no-GPU path and (INFERWARDEN_GPU=1) the CUDA path.
import test from 'node:test'
import assert from 'node:assert/strict'
import { iw } from './support.mjs'

const GPU = process.env.INFERWARDEN_GPU === '1'

// round_half_even(clamp((x + 1) / 2, 0, 1) * 255), NaN -> 0, in float32 arithmetic.
function toU8(x) {
  if (Number.isNaN(x)) return 0
  const unit = Math.min(Math.max(Math.fround(Math.fround(x + 1) * 0.5), 0), 1)
  const v = Math.fround(unit * 255)
  const f = Math.floor(v)
  const d = v - f
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1
}

const view = new DataView(new ArrayBuffer(4))
function bf16(bits) {
  view.setUint32(0, bits << 16, true)
  return view.getFloat32(0, true)
}
function f16(bits) {
  const sign = bits & 0x8000 ? -1 : 1
  const exp = (bits >> 10) & 0x1f
  const man = bits & 0x3ff
  if (exp === 0) return sign * man * 2 ** -24
  if (exp === 0x1f) return man ? NaN : sign * Infinity
  return sign * (1 + man / 1024) * 2 ** (exp - 15)
}

// Output N,T,H,W,C from values in `layout` order with dims n,c,t,h,w.
function reference(values, layout, [n, c, t, h, w]) {
  const out = new Uint8Array(values.length)
  const hw = h * w
  for (let ni = 0; ni < n; ni++)
    for (let ti = 0; ti < t; ti++)
      for (let p = 0; p < hw; p++)
        for (let ci = 0; ci < c; ci++) {
          const plane = layout === 'NCTHW' ? (ni * c + ci) * t + ti : (ni * t + ti) * c + ci
          out[((ni * t + ti) * hw + p) * c + ci] = toU8(values[plane * hw + p])
        }
  return out
}

function shapeIn(layout, [n, c, t, h, w]) {
  return layout === 'NCTHW' ? [n, c, t, h, w] : [n, t, c, h, w]
}

let seed = 12345
function rand() {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

function f32Values(len) {
  const a = new Float32Array(len)
  const edges = [NaN, Infinity, -Infinity, 1, -1, 1.1, -1.1, 0, -0]
  for (let i = 0; i < len; i++) {
    if (i < edges.length) a[i] = edges[i]
    else if (i % 5 === 0) a[i] = ((Math.floor(rand() * 255) + 0.5) / 255) * 2 - 1 // a .5 boundary
    else a[i] = rand() * 2.4 - 1.2
  }
  return a
}

const DIMS = [
  [2, 3, 5, 7, 9],
  [1, 3, 4, 8, 12],
  [1, 1, 2, 3, 5],
  [1, 4, 3, 6, 6],
]

for (const layout of ['NCTHW', 'NTCHW']) {
  test(`float32 matches the scalar reference (${layout})`, () => {
    for (const dims of DIMS) {
      const len = dims.reduce((a, b) => a * b)
      const x = f32Values(len)
      const got = iw.framesToU8(x, shapeIn(layout, dims), { layout })
      assert.equal(got.device, 'cpu')
      assert.deepEqual(got.shape, [dims[0], dims[2], dims[3], dims[4], dims[1]])
      assert.ok(Buffer.isBuffer(got.data))
      assert.deepEqual(new Uint8Array(got.data), reference(x, layout, dims), `dims ${dims}`)
      // The same values as raw little-endian bytes in a Buffer.
      const raw = Buffer.from(x.buffer, x.byteOffset, x.byteLength)
      const again = iw.framesToU8(raw, shapeIn(layout, dims), { layout, dtype: 'float32', threads: 1 })
      assert.deepEqual(again.data, got.data)
    }
  })
}

test('every float16 and bfloat16 bit pattern matches the scalar reference', () => {
  const dims = [1, 4, 1, 128, 128] // 65,536 elements
  const bits = new Uint16Array(65536)
  for (let i = 0; i < bits.length; i++) bits[i] = (i * 40503) & 0xffff
  for (const [dtype, decode] of [['float16', f16], ['bfloat16', bf16]]) {
    const values = Array.from(bits, decode)
    const got = iw.framesToU8(bits, dims, { dtype })
    assert.deepEqual(new Uint8Array(got.data), reference(values, 'NCTHW', dims), dtype)
  }
})

test('a view that starts inside a larger buffer is read from its own first byte', () => {
  const dims = [1, 3, 2, 4, 4]
  const len = dims.reduce((a, b) => a * b)
  const x = f32Values(len)
  // Neighbours a wrong offset would read instead: values far from x's.
  const big = new Float32Array(len + 16).fill(-1)
  big.set(x, 8)
  const view = big.subarray(8, 8 + len)
  assert.equal(view.byteOffset, 32)
  const expected = reference(x, 'NCTHW', dims)
  assert.deepEqual(new Uint8Array(iw.framesToU8(view, dims).data), expected)
  // A Buffer slice of a larger allocation (as Node's pooled Buffers are).
  const bytes = Buffer.alloc(x.byteLength + 24, 0xff)
  Buffer.from(x.buffer, x.byteOffset, x.byteLength).copy(bytes, 24)
  const slice = bytes.subarray(24)
  assert.equal(slice.byteOffset, 24)
  assert.deepEqual(new Uint8Array(iw.framesToU8(slice, dims, { dtype: 'float32' }).data), expected)
})

test('bad inputs are validation_error', () => {
  const x = new Float32Array(3 * 2 * 4 * 4)
  const code = (fn) => {
    try {
      fn()
    } catch (e) {
      return e.code
    }
    return 'no error'
  }
  assert.equal(code(() => iw.framesToU8(x, [1, 3, 2, 4])), 'validation_error')
  assert.equal(code(() => iw.framesToU8(x, [1, 3, 2, 4, 5])), 'validation_error')
  assert.equal(code(() => iw.framesToU8(x, [1, 3, 2, 4, 4], { layout: 'HWC' })), 'validation_error')
  assert.equal(code(() => iw.framesToU8(x, [1, 3, 2, 4, 4], { dtype: 'float16' })), 'validation_error')
  assert.equal(code(() => iw.framesToU8(x, [1, 3, 2, 4, 4], { device: 'tpu' })), 'validation_error')
  assert.equal(code(() => iw.framesToU8(new Uint16Array(96), [1, 3, 2, 4, 4])), 'validation_error')
  assert.equal(code(() => iw.framesToU8(Buffer.alloc(384), [1, 3, 2, 4, 4])), 'validation_error')
  assert.equal(code(() => iw.framesToU8(new Float64Array(96), [1, 3, 2, 4, 4])), 'validation_error')
})

test('without a GPU, cuda refuses with dependency_unavailable and auto uses the CPU', { skip: GPU }, () => {
  const status = iw.framesGpuStatus()
  assert.equal(status.available, false)
  assert.ok(status.reason.length > 0)
  const dims = [1, 3, 2, 4, 4]
  const x = f32Values(96)
  assert.throws(() => iw.framesToU8(x, dims, { device: 'cuda' }), (e) => e.code === 'dependency_unavailable')
  const auto = iw.framesToU8(x, dims, { device: 'auto' })
  assert.equal(auto.device, 'cpu')
  assert.deepEqual(new Uint8Array(auto.data), reference(x, 'NCTHW', dims))
})

test('the CUDA path gives the same bytes (INFERWARDEN_GPU=1)', { skip: !GPU }, () => {
  assert.equal(iw.framesGpuStatus().available, true)
  for (const layout of ['NCTHW', 'NTCHW'])
    for (const dims of DIMS) {
      const x = f32Values(dims.reduce((a, b) => a * b))
      const got = iw.framesToU8(x, shapeIn(layout, dims), { layout, device: 'cuda' })
      assert.equal(got.device, 'cuda')
      assert.deepEqual(new Uint8Array(got.data), reference(x, layout, dims))
    }
})
