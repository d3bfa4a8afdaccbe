// ESM entry of the inferwarden Node binding: the CommonJS loader (index.js, which picks the
// addon for this platform) re-exported by name, so `import { Gate } from 'inferwarden'` and
// `require('inferwarden').Gate` are the same object.
export * from './index.js'
export { default } from './index.js'
