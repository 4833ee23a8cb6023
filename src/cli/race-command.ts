/**
 * `regbench race` and `regbench sweep` (docs/races.md):
 *   regbench race <variant|variant:NAME=v1,v2>... [--set NAME=v1,v2]... [--baseline <template|file>]
 *                 --bench <ids|all> [--ladder smoke,quick] [--seeds 0,1,2] [--alpha 0.05] [--eta N]
 *                 [--concurrency N] [--slurm [--partition P] [--time T] ...]
 *   regbench race --resume <id>      regbench race --show <id>      regbench race --list
 *   regbench sweep <variant> --set NAME=v1,v2 [--set ...] [--bench <id> [--budget b] [--seeds L]]
 * The first line a race prints is `race <id>`. Bad input: one line, exit 2, nothing started.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { BACKEND_IDS, type BackendId } from '../protocol/benchmarks';
import type { RaceRecord, RaceRung } from '../protocol/race';
import { UsageError } from '../runs/run-request';
import { defaultDistDir } from '../runs/runner';
import { parseSetOption, type SweepSpec } from '../variants/sweep';
import { deriveSweep } from '../variants/sweep-store';
import { setupRace } from '../races/race-setup';
import { allocateRace, listRaces, RACE_FILE, raceState, readRace, RaceFileError, writeRace } from '../races/race-store';
import { runRace, type RaceWorld } from '../races/race-runner';
import { LocalWorld } from '../races/local-world';
import { SlurmWorld } from '../races/slurm-world';
import { keepEntrantSources } from '../races/store-world';
import { finalText, rungResultText, startText } from '../races/race-report';
import { intOption, storeFor } from './options';
import { SLURM_OPTIONS, slurmOptions } from './slurm-commands';
import { RUN_OPTIONS } from './run-command';
import { parseSeeds, prepareSeries, runSeries } from './run-series';
import { runRequestOf } from './run-command';

export const RACE_USAGE = `regbench race <variant|variant:NAME=v1,v2>... [--set NAME=v1,v2]... [--baseline <template|file>] --bench <ids|all>
               [--ladder smoke,quick[:epochs=N:train=N:test=N]] [--seeds 0,1,2] [--alpha 0.05] [--eta N] [--concurrency N]
               [--slurm [--partition P] [--time T] [--cpus-per-task N] [--gres gpu:N] [--sbatch-arg=...]] [--data-dir D] [--backend B]
  regbench race --resume <id> | --show <id> | --list
  regbench sweep <variant> --set NAME=v1,v2 [--set ...] [--bench <id> [--budget b] [--seeds L]]`;

const RACE_OPTIONS = {
  set: { type: 'string', multiple: true },
  baseline: { type: 'string' },
  bench: { type: 'string' },
  ladder: { type: 'string', default: 'smoke,quick' },
  seeds: { type: 'string', default: '0,1,2' },
  alpha: { type: 'string', default: '0.05' },
  eta: { type: 'string' },
  concurrency: { type: 'string', default: '1' },
  resume: { type: 'string' },
  show: { type: 'string' },
  list: { type: 'boolean', default: false },
  backend: { type: 'string' },
  device: { type: 'string' },
  'data-dir': { type: 'string' },
  'step-timeout': { type: 'string' },
  ...SLURM_OPTIONS,
  'poll-seconds': { type: 'string' },
  workspace: { type: 'string' },
} as const;

function numberOption(name: string, text: string): number {
  if (!/^\d*\.?\d+(e-?\d+)?$/i.test(text)) throw new UsageError(`--${name} must be a number, got '${text}'`);
  return Number(text);
}

function sweepSpec(sets: readonly string[] | undefined): SweepSpec {
  try {
    return (sets ?? []).map((s) => parseSetOption(s));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function workspaceOf(w: string | undefined): string {
  return path.resolve(w ?? process.env.REGBENCH_WORKSPACE ?? process.cwd());
}

type Values = ReturnType<typeof parseRace>['values'];
function parseRace(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: RACE_OPTIONS });
}

function worldFor(race: RaceRecord, values: Values, say: (l: string) => void): LocalWorld | SlurmWorld {
  const workspace = workspaceOf(values.workspace);
  const store = storeFor(workspace);
  const poll = values['poll-seconds'] !== undefined ? numberOption('poll-seconds', values['poll-seconds']) : undefined;
  if (race.request.slurm) {
    const s = race.request.slurm;
    return new SlurmWorld(store, race, say, {
      submit: {
        workspace,
        slurm: { partition: s.partition, time: s.time, cpusPerTask: s.cpusPerTask, gres: s.gres, sbatchArgs: s.extraArgs },
        cli: path.join(defaultDistDir(), 'cli.js'),
      },
      pollSeconds: poll,
    });
  }
  return new LocalWorld(store, race, say, { concurrency: race.request.concurrency, runner: { onStderr: () => undefined }, pollSeconds: poll });
}

/** Runs the race to its end (or until Ctrl-C/SIGTERM), printing progress; exit 0 when completed. */
async function drive(race: RaceRecord, values: Values): Promise<number> {
  const say = (l: string) => process.stdout.write(l + '\n');
  const world = worldFor(race, values, say);
  const rw: RaceWorld = Object.assign(world, {
    rungDone: (r: RaceRecord, rung: RaceRung) => say(rungResultText(r, rung)),
  });
  let signalled = false;
  const onSignal = () => {
    if (signalled) return;
    signalled = true;
    process.stderr.write(`regbench: stopping race ${race.id}: running runs checkpoint and stop; \`regbench race --resume ${race.id}\` continues\n`);
    world.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const done = await runRace(race, rw);
    say(finalText(done));
    return done.status === 'completed' ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Bad input is one line on stderr and exit 2 (no usage dump): nothing was started. */
async function oneLine(run: () => Promise<number>, name: string): Promise<number> {
  try {
    return await run();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (
      err instanceof UsageError ||
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ||
      code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
    ) {
      process.stderr.write(`regbench ${name}: ${(err as Error).message.split('\n')[0]}\n`);
      return 2;
    }
    throw err;
  }
}

export function commandRace(argv: string[]): Promise<number> {
  return oneLine(() => raceMain(argv), 'race');
}

export function commandSweep(argv: string[]): Promise<number> {
  return oneLine(() => sweepMain(argv), 'sweep');
}

async function raceMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseRace(argv);
  const workspace = workspaceOf(values.workspace);
  const store = storeFor(workspace);
  if (values.list) return listCommand(store.root);
  if (values.show !== undefined) {
    const race = readOrExplain(store.root, values.show);
    process.stdout.write(`race ${race.id} (${raceState(race)})\n${startText(race)}\n${finalText({ ...race, status: raceState(race) })}\n`);
    return 0;
  }
  if (values.resume !== undefined) {
    if (positionals.length) throw new UsageError('race --resume <id> takes no candidates: it continues the race as it was asked for');
    const race = readOrExplain(store.root, values.resume);
    const state = raceState(race);
    if (state === 'running') throw new UsageError(`race ${race.id} is running (process ${race.ownerPid ?? '?'})`);
    process.stdout.write(`race ${race.id}\n`);
    if (state === 'completed') {
      process.stdout.write(finalText(race) + '\n');
      return 0;
    }
    race.ownerPid = process.pid;
    race.status = 'running';
    keepEntrantSources(store.root, race);
    writeRace(store.root, race);
    process.stdout.write(`resuming: ${race.rungs.filter((r) => r.status === 'done').length} of ${race.rungs.length} rungs done\n${startText(race)}\n`);
    return drive(race, values);
  }
  const race = newRace(values, positionals, workspace, store.root);
  race.id = allocateRace(store.root);
  process.stdout.write(`race ${race.id}\n`);
  keepEntrantSources(store.root, race);
  writeRace(store.root, race);
  process.stdout.write(startText(race) + '\n');
  return drive(race, values);
}

function newRace(values: Values, positionals: string[], workspace: string, storeRoot: string): RaceRecord {
  const seeds = parseSeeds(values.seeds, undefined);
  if (values.backend !== undefined && !BACKEND_IDS.includes(values.backend as BackendId))
    throw new UsageError(`--backend must be one of ${BACKEND_IDS.join(', ')}`);
  const slurm = values.slurm ? slurmOptions(values) : undefined;
  const dataDir = values['data-dir'] ?? process.env.REGBENCH_DATA;
  return setupRace(
    {
      candidates: positionals,
      sets: sweepSpec(values.set),
      baseline: values.baseline,
      bench: values.bench,
      ladder: values.ladder,
      seeds,
      alpha: numberOption('alpha', values.alpha),
      eta: values.eta !== undefined ? numberOption('eta', values.eta) : undefined,
      concurrency: intOption('concurrency', values.concurrency) || 1,
      request: {
        backend: values.backend as BackendId | undefined,
        device: values.device,
        dataDir: dataDir ? path.resolve(dataDir) : undefined,
        stepTimeoutSeconds: intOption('step-timeout', values['step-timeout']),
        slurm: slurm && { partition: slurm.partition, time: slurm.time, cpusPerTask: slurm.cpusPerTask, gres: slurm.gres, extraArgs: slurm.sbatchArgs },
        command: ['regbench', 'race', ...process.argv.slice(3)].join(' '),
      },
    },
    'new',
    storeRoot,
  );
  void workspace;
}

function readOrExplain(storeRoot: string, id: string): RaceRecord {
  try {
    return readRace(storeRoot, id);
  } catch (err) {
    if (err instanceof RaceFileError) throw new UsageError(err.message);
    throw err;
  }
}

function listCommand(storeRoot: string): number {
  const { races, problems } = listRaces(storeRoot);
  // A damaged race is listed (by its folder) with the reason naming its race.json, never hidden.
  for (const p of problems)
    process.stdout.write(`${path.basename(p.file) === RACE_FILE ? path.basename(path.dirname(p.file)) : p.file}  DAMAGED     ${p.message}\n`);
  if (!races.length && !problems.length) process.stdout.write('no races yet (regbench race <variants> --bench <ids> starts one)\n');
  for (const r of races) {
    const lead = r.ranking?.[0] ? `, leader ${r.candidates.find((c) => c.id === r.ranking?.[0].candidate)?.label}` : '';
    process.stdout.write(
      `${r.id}  ${raceState(r).padEnd(11)} ${r.candidates.length} candidates, ${r.rungs.filter((x) => x.status === 'done').length}/${r.rungs.length} rungs${lead}\n`,
    );
  }
  return 0;
}

// A sweep names its runs by their values and runs --seeds: run's --name and --seed do not apply.
const { name: _name, seed: _seed, ...SWEEP_RUN_OPTIONS } = RUN_OPTIONS;
const SWEEP_OPTIONS = { ...SWEEP_RUN_OPTIONS, set: { type: 'string', multiple: true } } as const;

/** `regbench sweep`: writes the derived variants and prints them; with --bench, runs each. */
async function sweepMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: SWEEP_OPTIONS,
  });
  if (positionals.length !== 1) throw new UsageError('sweep needs exactly one variant file');
  const spec = sweepSpec(values.set);
  if (!spec.length) throw new UsageError('sweep needs at least one --set NAME=v1,v2');
  const store = storeFor(values.workspace);
  const base = values.bench ? runRequestOf(positionals[0], { ...values, seed: undefined, name: undefined }) : undefined;
  const seeds = base ? parseSeeds(values.seeds, undefined) : [];
  const variants = deriveSweep(positionals[0], spec, store.root);
  for (const v of variants) process.stdout.write(`${v.label}\t${v.path}\n`);
  if (!base) return 0;
  const records = variants.flatMap((v) =>
    prepareSeries({ ...base, variantPath: v.path }, seeds, store).map((r) => store.update(r.id, (x) => ({ ...x, displayName: v.label }))),
  );
  return runSeries(records, { store, json: values.json === true });
}
