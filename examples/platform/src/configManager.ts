// Frontend view of the catalogue in the sample platform. The union and the fallbacks restate
// `inference_settings.json` by hand; `inferwarden parity check` keeps them in step.
import settings from './inference_settings.json'

export type ModelId = 'flux-dev' | 'sdxl-turbo' | 'phr00t' | 'ltx-video'

export type GenerationType = 'image' | 'video'

const cfg = settings as unknown as { models: Record<string, Record<string, unknown>> }

export const fluxDefaults = cfg.models.flux ?? { steps: 28, guidance: 3.5, width: 1024, height: 1024 }

export const ltxDefaults = cfg.models.ltx ?? { num_frames: 97, fps: 24 }
