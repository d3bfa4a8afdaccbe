// Types for the ESM entry of `inferwarden/parity` (parity.mjs).
export * from './parity.js'
