/** A parity finding (see the JSON schema_version 1 output). */
export interface ParityFinding {
  rule: string
  severity: 'error' | 'warning'
  message: string
  source: { file: string; line: number; column: number }
  catalogue_path?: string
  catalogue_at?: { file: string; line: number; column: number }
  expected: unknown
  found: unknown
}
export interface ParityReport {
  schema_version: number
  catalogue: string
  sources: string[]
  facts_checked: number
  findings: ParityFinding[]
  /** 0 clean, 1 drift, 2 input error. */
  exit_code: number
  rendered: string
}
export type ParityFormat = 'text' | 'json' | 'sarif' | 'junit' | 'github'
export declare function check(root?: string, options?: { format?: ParityFormat }): ParityReport
export declare function generate(
  root?: string,
  options?: { check?: boolean },
): Array<{ path: string; status: 'up_to_date' | 'stale' | 'missing' | 'written' }>
export declare function driftError(report: ParityReport): Error & { code: string; report: ParityReport }
/** A Vite plugin failing `vite build` on catalogue drift or stale generated mirrors. */
export declare function inferwardenParity(options?: {
  root?: string
  format?: ParityFormat
  generatedCheck?: boolean
}): { name: string; apply: 'build'; configResolved(config: { root: string }): void; buildStart(): void }
