/** What the in-host suite reports to its launcher: one result per case, in a JSON file. */

/** The cases of suite.ts, in order; the launcher checks that each one ran. */
export const CASE_NAMES = [
  'every command package.json contributes is registered',
  'the accuracy lens of a template variant shows its two seeds',
  'the Experiments tree holds the variant, its benchmark and both runs',
  'regbench.concurrency is read and reaches the run service',
] as const;

export type CaseName = (typeof CASE_NAMES)[number];

export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

export interface HostResults {
  /** vscode.version in the host. */
  vscodeVersion: string;
  results: CaseResult[];
}

/** The environment variable naming the results file (the host inherits it from its server). */
export const RESULTS_ENV = 'REGBENCH_HOST_RESULTS';
