/**
 * `regbench data synth` writes a small, valid dataset in the real on-disk format (for tests and
 * offline demos; used only when a run is pointed at it with --data-dir), with a seeded difficulty
 * (--difficulty, default 0.5: class overlap and training label noise) so that accuracies stay
 * apart instead of all reaching 100%. `regbench data fetch`
 * downloads and verifies a real dataset into the cache (or --data-dir) ahead of a run.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { DATASET_STATS, type DatasetId } from '../protocol/benchmarks';
import { loadDataset, writeSyntheticDataset } from '../engine/data';
import { SYNTHETIC_CLI_DIFFICULTY } from '../engine/data/synthetic';
import { UsageError } from '../runs/run-request';

const DATASETS = Object.keys(DATASET_STATS) as readonly DatasetId[];

function datasetArg(value: string | undefined): DatasetId {
  if (!value || !DATASETS.includes(value as DatasetId)) throw new UsageError(`dataset must be one of ${DATASETS.join(', ')}, got '${value ?? ''}'`);
  return value as DatasetId;
}

function count(name: string, value: string | undefined, least = 1): number | undefined {
  if (value === undefined) return undefined;
  const what = least === 0 ? 'a whole number (0 or more)' : 'a positive integer';
  if (!/^\d+$/.test(value) || Number(value) < least || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${name} must be ${what}, got '${value}'`);
  return Number(value);
}

function difficultyArg(value: string | undefined): number {
  if (value === undefined) return SYNTHETIC_CLI_DIFFICULTY;
  const d = Number(value);
  if (!/^\s*[\d.]+\s*$/.test(value) || !(d >= 0 && d <= 1)) throw new UsageError(`--difficulty must be a number from 0 (easy) to 1 (hardest), got '${value}'`);
  return d;
}

export async function runDataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'synth') {
    const { values } = parseArgs({
      args: rest,
      options: {
        dataset: { type: 'string' },
        out: { type: 'string' },
        train: { type: 'string' },
        test: { type: 'string' },
        seed: { type: 'string' },
        difficulty: { type: 'string' },
        workspace: { type: 'string' },
      },
    });
    const dataset = datasetArg(values.dataset);
    if (!values.out) throw new UsageError('data synth needs --out DIR');
    const out = path.resolve(values.out);
    const difficulty = difficultyArg(values.difficulty);
    const files = await writeSyntheticDataset(dataset, out, {
      train: count('train', values.train),
      test: count('test', values.test),
      seed: count('seed', values.seed, 0),
      difficulty,
    });
    process.stdout.write(
      `wrote a synthetic ${dataset} dataset (${files.length} files, difficulty ${difficulty}) to ${out}\nuse it with: regbench run <variant> --bench <id> --data-dir ${out}\n`,
    );
    return 0;
  }
  if (sub === 'fetch') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { 'data-dir': { type: 'string' }, workspace: { type: 'string' } },
    });
    const dataset = datasetArg(positionals[0]);
    const data = await loadDataset(dataset, { dataDir: values['data-dir'] ?? process.env.REGBENCH_DATA, log: (m) => process.stderr.write(`${m}\n`) });
    process.stdout.write(`${dataset}: ${data.train.n} training and ${data.test.n} test images, from ${data.source}\n`);
    return 0;
  }
  throw new UsageError(`data needs a subcommand: synth or fetch`);
}
