// The sample platform's Vite config: `vite build` fails when the catalogue
// (src/inference_settings.json) and the sources that restate it disagree, or when a
// generated mirror is stale. Tested by tests/node/parity.test.mjs with a real `vite build`.
import { inferwardenParity } from 'inferwarden/parity'

export default {
  plugins: [inferwardenParity()],
}
