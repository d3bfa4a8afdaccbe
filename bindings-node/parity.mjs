// ESM entry of `inferwarden/parity`: the checker, the Vite plugin and the helpers from
// parity.js, re-exported by name (`import { inferwardenParity } from 'inferwarden/parity'`).
export * from './parity.js'
export { default } from './parity.js'
