// The generation form of the sample platform: numeric props restate catalogue ranges.
import { fluxDefaults } from '../configManager'

export function StepsInput({ model }: { model: string }) {
  return <input type="number" name="steps" min={1} max={50} step={1} defaultValue={fluxDefaults.steps} data-model="flux-dev" />
}

export function FramesInput() {
  return <input type="number" name="num_frames" min={17} max={161} step={8} defaultValue={81} data-model="phr00t" />
}
