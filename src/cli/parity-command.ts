/**
 * `regbench parity --bench <id> [--batch N] [--seed N] [--backend wasm|cpu] [--python P] [--json]`:
 * builds the benchmark's network in both engines, copies PyTorch's weights into TensorFlow.js and
 * prints the largest differences of each check (src/engine/parity/run-parity.ts) with pass/fail.
 * Exit codes: 0 every check within its tolerance; 1 a check failed or the check could not run;
 * 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { BENCHMARKS, isBenchId, type BackendId, BACKEND_IDS } from '../protocol/benchmarks';
import { UsageError } from '../runs/run-request';
import type { ParityCheck, ParityReport } from '../engine/parity/run-parity';

const BACKENDS = BACKEND_IDS;

/** Where the command writes; the process's streams unless a caller (a test) passes others. */
export interface ParityOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROCESS_OUTPUT: ParityOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export async function runParityCommand(argv: string[], out: ParityOutput = PROCESS_OUTPUT): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      bench: { type: 'string' },
      batch: { type: 'string', default: '4' },
      seed: { type: 'string', default: '0' },
      backend: { type: 'string', default: 'wasm' },
      python: { type: 'string' },
      device: { type: 'string' },
      json: { type: 'boolean', default: false },
      workspace: { type: 'string' },
    },
  });
  const benchIds = BENCHMARKS.map((b) => b.id).join(', ');
  if (positionals.length) throw new UsageError(`parity takes no positional arguments, got '${positionals.join(' ')}'`);
  if (!values.bench) throw new UsageError(`parity needs --bench <id> (one of ${benchIds})`);
  if (!isBenchId(values.bench)) throw new UsageError(`unknown benchmark '${values.bench}' (one of ${benchIds})`);
  if (!/^\d+$/.test(values.batch) || Number(values.batch) < 1 || Number(values.batch) > 128)
    throw new UsageError(`--batch must be an integer from 1 to 128, got '${values.batch}'`);
  if (!/^\d+$/.test(values.seed)) throw new UsageError(`--seed must be a non-negative integer, got '${values.seed}'`);
  if (!BACKENDS.includes(values.backend as BackendId)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}`);

  if (values.device !== undefined && !/^(cpu|cuda(:\d+)?)$/.test(values.device))
    throw new UsageError(`--device must be cpu, cuda or cuda:N, got '${values.device}'`);
  if (values.device !== undefined && values.device !== 'cpu' && values.backend !== 'torch')
    throw new UsageError(`--device ${values.device} needs --backend torch (the TensorFlow.js backend with devices)`);

  // Loaded on demand: it brings TensorFlow.js, which no other CLI command needs at start-up.
  const { runParity } = await import('../engine/parity/run-parity');
  const json = values.json === true;
  let report: ParityReport;
  try {
    report = await runParity({
      bench: values.bench,
      batch: Number(values.batch),
      seed: Number(values.seed),
      backend: values.backend as BackendId,
      python: values.python,
      device: values.device,
      onStderr: json ? undefined : (line) => out.stderr(`  [python] ${line}\n`),
    });
  } catch (err) {
    out.stderr(`regbench parity: ${(err as Error).message}\n`);
    return 1;
  }
  out.stdout(json ? `${JSON.stringify(report)}\n` : formatParityReport(report));
  return report.pass ? 0 : 1;
}

export function formatParityReport(r: ParityReport): string {
  const lines = [
    `parity ${r.bench}: ${r.arch}, ${r.numClasses} classes, batch ${r.batch}, seed ${r.seed}`,
    `  PyTorch ${r.torch.version} (${r.torch.python}, ${r.torch.threads} threads) vs TensorFlow.js ${r.tfjs.backend}${r.tfjs.threads ? ` (${r.tfjs.threads} threads)` : ''}`,
    `  ${'check'.padEnd(52)} ${'max error'.padStart(10)} ${'tolerance'.padStart(10)}  result  worst at`,
  ];
  for (const c of r.checks) {
    lines.push(
      `  ${`${c.title} (${c.unit})`.padEnd(52)} ${formatError(c).padStart(10)} ${formatTolerance(c).padStart(10)}  ${c.pass ? 'pass' : 'FAIL'}    ${c.worst ?? ''}`,
    );
    if (c.note && (!c.pass || c.id === 'step-params')) lines.push(`    ${c.note}`);
  }
  lines.push(
    `  step moved parameters by up to ${r.stepMagnitude.toExponential(2)}, running statistics by up to ${r.statsMagnitude.toExponential(2)}; ` +
      `${r.tensors} tensors; ${r.dropoutLayersDisabled} dropout layer(s) off for the step; ` +
      `nearest ReLU input to a kink ${r.reluMargin.margin.toExponential(2)} away` +
      (Number.isFinite(r.poolTieGap.margin) ? `, closest max-pool tie ${r.poolTieGap.margin.toExponential(2)}` : ''),
    `  ${r.pass ? 'PASS' : 'FAIL'}: ${r.checks.filter((c) => c.pass).length}/${r.checks.length} checks within tolerance (${r.seconds.total.toFixed(1)} s: PyTorch ${r.seconds.torch.toFixed(1)} s, TensorFlow.js ${r.seconds.tfjs.toFixed(1)} s)`,
  );
  return `${lines.join('\n')}\n`;
}

function formatError(c: ParityCheck): string {
  return c.unit === 'count' ? String(c.error) : c.error.toExponential(2);
}

function formatTolerance(c: ParityCheck): string {
  return c.unit === 'count' ? String(c.tolerance) : c.tolerance.toExponential(0);
}
