/**
 * "Regbench: Race Variants…" and "Regbench: Cancel Race": asks for the candidates (variant files,
 * or a sweep of one file's constant), the benchmarks (the kind's development benchmarks; held-out
 * ones are never offered), the ladder, the seeds and local or Slurm, then starts `regbench race`
 * as a child process (the CLI drives the race) and follows its race.json: the dashboard's Race
 * view shows it, one notification per finished rung, a last one with the ranking (rung and end
 * notifications come for races started in a terminal too, seen through race.json). Cancel sends
 * the race SIGINT (its runs checkpoint and stop; `regbench race --resume <id>` continues), SIGKILL
 * if it has not ended 15 s later. Thin: forms in race-form.ts, texts in race-view-model.ts.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getBenchmark, type BenchId, type TaskKind } from '../protocol/benchmarks';
import type { RaceRecord } from '../protocol/race';
import { finishedRungs, raceEndNotification, rungNotification } from '../present/race-view-model';
import { defaultDistDir } from '../runs/runner';
import { onPath } from '../runs/slurm/matrix-view';
import { defaultSeedText, parseSeedList } from '../runs/slurm/submit-form';
import { checkVariant } from '../variants/variant-file';
import { findTopLevelConsts, SweepError } from '../variants/sweep';
import { engineForFile } from '../runs/run-request';
import { CANCEL_RACE_COMMAND } from './dashboard-panel';
import type { RaceChange, RaceIndex } from '../races/race-index';
import { RaceProcess } from '../races/race-process';
import { devBenchmarks, exampleValues, LADDER_PRESETS, parseSweepValues, raceArgs, sweepCandidate, taskKinds, type RaceForm } from '../races/race-form';
import { readSettings } from './settings';
import { readSlurmSettings } from './slurm-matrix';

function slurmOptionsFromSettings(): RaceForm['slurmOptions'] {
  const s = readSlurmSettings();
  return {
    partition: s.partition || undefined,
    time: s.timeLimit || undefined,
    cpusPerTask: s.cpusPerTask || undefined,
    gres: s.gres || undefined,
    extraArgs: s.extraArgs,
  };
}
import { ensureTrusted } from './trust';

export const RACE_VARIANTS_COMMAND = 'regbench.raceVariants';
const KILL_AFTER_MS = 15_000;
const POLL_MS = 2000;

/** What the sweep lens passes: the candidates are set, the rest is asked. */
export interface RaceCommandArgs {
  candidates: string[];
  kinds: TaskKind[];
}

export interface RaceCommandDeps {
  races: RaceIndex;
  /** The workspace folder races run in (undefined: no folder, races are not offered). */
  workspace: string | undefined;
  /** Shows a race in the dashboard's Race view. */
  showRace(raceId: string): void;
  output: vscode.OutputChannel;
}

export class RaceCommand implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly processes = new Set<RaceProcess>();

  constructor(private readonly deps: RaceCommandDeps) {
    this.disposables.push(
      vscode.commands.registerCommand(RACE_VARIANTS_COMMAND, (arg?: unknown) => this.race(arg)),
      vscode.commands.registerCommand(CANCEL_RACE_COMMAND, (arg?: unknown) => this.cancel(typeof arg === 'string' ? arg : undefined)),
    );
    const sub = deps.races.onChange((c) => this.onRaceChange(c));
    this.disposables.push({ dispose: () => sub.dispose() });
  }

  dispose(): void {
    // Closing the editor stops the races it started, as it stops its runs (they stay resumable).
    for (const p of this.processes) p.cancel();
    this.disposables.forEach((d) => d.dispose());
  }

  private async race(arg: unknown): Promise<void> {
    if (!ensureTrusted('race variants')) return;
    const workspace = this.deps.workspace;
    if (!workspace) {
      void vscode.window.showErrorMessage('Regbench: races need an open folder (their record lives in .regbench/races/).');
      return;
    }
    const given = isRaceArgs(arg) ? arg : undefined;
    const picked = given ?? (await pickCandidates(workspace));
    if (!picked) return;
    const form = await askForm(picked);
    if (!form) return;
    this.start(form, workspace);
  }

  private start(form: RaceForm, workspace: string): void {
    const args = raceArgs(form, workspace);
    this.deps.output.appendLine(`regbench ${args.join(' ')}`);
    const proc = new RaceProcess({
      // ELECTRON_RUN_AS_NODE makes the editor's own binary run the CLI as Node (as the runner does).
      command: process.execPath,
      args: [path.join(defaultDistDir(), 'cli.js'), ...args],
      cwd: workspace,
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      killAfterMs: KILL_AFTER_MS,
      onLine: (line) => this.deps.output.appendLine(line),
      onRaceId: (id) => this.follow(proc, id),
    });
    this.processes.add(proc);
    void proc.exited.then((code) => {
      this.processes.delete(proc);
      if (!proc.id) void vscode.window.showErrorMessage(`Regbench: ${proc.failure(code)}`, 'Show Output').then((c) => c && this.deps.output.show());
    });
  }

  /** From the race's first line on: the Race view, a progress notification, rung and end notifications. */
  private follow(proc: RaceProcess, raceId: string): void {
    proc.id = raceId;
    const races = this.deps.races;
    races.refresh(raceId);
    this.deps.showRace(raceId);
    let last: RaceRecord | undefined = races.get(raceId);
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Regbench: race ${raceId}`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => proc.cancel());
        return new Promise<void>((resolve) => {
          const report = (race: RaceRecord) => progress.report({ message: progressText(race, proc.cancelled) });
          if (last) report(last);
          const sub = races.onChange((c) => {
            if (c.race.id !== raceId) return;
            last = c.race;
            report(c.race);
          });
          // The file watcher may miss a change (network file systems): read race.json every 2 s too.
          const poll = setInterval(() => races.refresh(raceId), POLL_MS);
          void proc.exited.then(() => {
            clearInterval(poll);
            races.refresh(raceId);
            sub.dispose();
            resolve();
            const race = races.get(raceId);
            if (race) this.notifyEnd(race);
            else void vscode.window.showWarningMessage(`Regbench: race ${raceId} ended (exit code ${proc.child.exitCode}) without a readable race.json.`);
          });
        });
      },
    );
  }

  /**
   * Every race's rungs, this window's or one running in a terminal: a notification per rung that
   * ended (seen in race.json), and for races of other processes one when the race ends.
   */
  private onRaceChange(c: RaceChange): void {
    if (!c.before && c.race.status !== 'running') return; // an old race seen for the first time
    for (const r of finishedRungs(c.before, c.race)) void this.notifyRung(c.race, r.index);
    const own = [...this.processes].some((p) => p.id === c.race.id);
    if (!own && c.before?.status === 'running' && c.race.status !== 'running') this.notifyEnd(c.race);
  }

  private notifyEnd(race: RaceRecord): void {
    const text = `Regbench: ${raceEndNotification(race)}`;
    const show = (c: string | undefined) => c === 'Show Race' && this.deps.showRace(race.id);
    if (race.status === 'completed') void vscode.window.showInformationMessage(text, 'Show Race').then(show);
    else void vscode.window.showWarningMessage(text, 'Show Race').then(show);
  }

  private async notifyRung(race: RaceRecord, rung: number): Promise<void> {
    const choice = await vscode.window.showInformationMessage(`Regbench: ${rungNotification(race, race.rungs[rung])}`, 'Show Race');
    if (choice) this.deps.showRace(race.id);
  }

  private async cancel(raceId: string | undefined): Promise<void> {
    const mine = [...this.processes].filter((p) => p.id && (!raceId || p.id === raceId));
    if (mine.length === 1 || (raceId && mine.length)) {
      mine[0].cancel();
      void vscode.window.showInformationMessage(
        `Regbench: stopping race ${mine[0].id}: its runs checkpoint and stop; \`regbench race --resume ${mine[0].id}\` continues it.`,
      );
      return;
    }
    const running = this.deps.races.all().filter((r) => r.status === 'running' && (!raceId || r.id === raceId));
    const pick = raceId ? running[0] : running.length === 1 ? running[0] : await pickRace(running);
    if (!pick) {
      if (raceId || !running.length) void vscode.window.showInformationMessage(`Regbench: ${raceId ? `race ${raceId} is` : 'no race is'} running.`);
      return;
    }
    const own = [...this.processes].find((p) => p.id === pick.id);
    if (own) {
      own.cancel();
      return;
    }
    // A race started elsewhere (a terminal): its process gets the same signal as Ctrl-C.
    try {
      if (!pick.ownerPid) throw new Error('no process recorded');
      process.kill(pick.ownerPid, 'SIGINT');
      void vscode.window.showInformationMessage(`Regbench: stopping race ${pick.id} (process ${pick.ownerPid}).`);
    } catch (err) {
      void vscode.window.showErrorMessage(`Regbench: race ${pick.id} has no running process on this machine to stop (${(err as Error).message}).`);
    }
  }
}

function isRaceArgs(x: unknown): x is RaceCommandArgs {
  return typeof x === 'object' && x !== null && Array.isArray((x as RaceCommandArgs).candidates) && Array.isArray((x as RaceCommandArgs).kinds);
}

/** "rung 2/3 running · 2 candidates left · leader conf" */
function progressText(race: RaceRecord, stopping: boolean): string {
  if (stopping) return 'stopping: runs checkpoint and stop…';
  const rung = race.rungs.find((r) => r.status === 'running') ?? race.rungs.filter((r) => r.status === 'done').pop();
  const left = race.candidates.filter((c) => c.status === 'advanced').length;
  const cells = rung ? `${rung.cells.filter((c) => c.status === 'completed').length}/${rung.cells.length} runs` : '';
  return [rung ? `rung ${rung.index + 1}/${race.rungs.length} ${rung.status}` : 'starting', cells, `${left} candidate${left === 1 ? '' : 's'} left`]
    .filter(Boolean)
    .join(' · ');
}

async function pickRace(races: RaceRecord[]): Promise<RaceRecord | undefined> {
  const item = await vscode.window.showQuickPick(
    races.map((r) => ({ label: r.id, description: `${r.candidates.length} candidates`, race: r })),
    { title: 'Cancel which race?' },
  );
  return item?.race;
}

const SWEEP_ITEM = '$(symbol-constant) Sweep a constant of a variant…';

interface VariantItem extends vscode.QuickPickItem {
  file?: string;
  kinds?: TaskKind[];
}

/** The workspace's variant files (files that define a regularizer or a norm), and the sweep entry. */
async function pickCandidates(workspace: string): Promise<RaceCommandArgs | undefined> {
  const uris = await vscode.workspace.findFiles('**/*.{ts,js,py}', '{**/node_modules/**,**/.regbench/**,**/*.d.ts,**/dist/**}', 500);
  const active = vscode.window.activeTextEditor?.document.uri.fsPath;
  const items: VariantItem[] = [];
  for (const uri of uris) {
    let source: string;
    try {
      source = fs.readFileSync(uri.fsPath, 'utf8');
    } catch {
      continue;
    }
    const check = checkVariant(uri.fsPath, source);
    if (!check.ok) continue;
    items.push({
      label: path.basename(uri.fsPath),
      description: path.relative(workspace, path.dirname(uri.fsPath)),
      file: uri.fsPath,
      kinds: taskKinds(check.kind),
      picked: uri.fsPath === active,
    });
  }
  items.sort((a, b) => (a.file ?? '').localeCompare(b.file ?? ''));
  const chosen = await vscode.window.showQuickPick<VariantItem>([{ label: SWEEP_ITEM, alwaysShow: true }, ...items], {
    title: 'Race Variants (1/5): the candidates (the baseline is the blank variant of their kind)',
    canPickMany: true,
    placeHolder: items.length
      ? 'Pick variant files, or a sweep of one constant'
      : 'No variant files in this folder: create one with "New Regularizer Variant…"',
  });
  if (!chosen?.length) return undefined;
  const candidates = chosen.filter((i) => i.file).map((i) => i.file as string);
  const kinds = new Set(chosen.flatMap((i) => i.kinds ?? []));
  if (chosen.some((i) => i.label === SWEEP_ITEM)) {
    const sweep = await askSweep(items);
    if (!sweep) return undefined;
    candidates.push(sweep.candidate);
    sweep.kinds.forEach((k) => kinds.add(k));
  }
  if (kinds.size > 1) {
    void vscode.window.showErrorMessage('Regbench: a race compares variants of one kind; the candidates mix regularizers and normalization layers.');
    return undefined;
  }
  return { candidates, kinds: [...kinds] };
}

/** One file, one of its top-level constants, its values. */
async function askSweep(items: readonly VariantItem[]): Promise<{ candidate: string; kinds: TaskKind[] } | undefined> {
  const file = await vscode.window.showQuickPick(
    items.map((i) => ({ ...i, picked: false })),
    { title: 'Sweep: which variant?' },
  );
  if (!file?.file) return undefined;
  const consts = findTopLevelConsts(fs.readFileSync(file.file, 'utf8'), engineForFile(file.file));
  if (!consts.length) {
    void vscode.window.showErrorMessage(`Regbench: ${file.label} has no top-level constant with a number, string or boolean value to sweep.`);
    return undefined;
  }
  const c = await vscode.window.showQuickPick(
    consts.map((x) => ({ label: x.name, description: `${x.type} = ${x.text} (line ${x.line + 1})`, c: x })),
    { title: `Sweep: which constant of ${file.label}?` },
  );
  if (!c) return undefined;
  const values = await askSweepValues(c.c, file.file);
  return values ? { candidate: sweepCandidate(file.file, c.c.name, values), kinds: file.kinds ?? [] } : undefined;
}

/** The values of a sweep, checked as they are typed (one line naming the constant and its type). */
export async function askSweepValues(c: Parameters<typeof parseSweepValues>[0], file: string): Promise<string[] | undefined> {
  const validate = (text: string) => {
    try {
      parseSweepValues(c, text, path.basename(file));
      return undefined;
    } catch (err) {
      return err instanceof SweepError ? err.message : String(err);
    }
  };
  const text = await vscode.window.showInputBox({
    title: `Sweep ${c.name} (${c.type}, now ${c.text})`,
    prompt: 'The values, separated by commas',
    placeHolder: exampleValues(c),
    validateInput: validate,
  });
  return text === undefined ? undefined : parseSweepValues(c, text, path.basename(file));
}

/** Benchmarks, ladder, seeds, local or Slurm. */
async function askForm(picked: RaceCommandArgs): Promise<RaceForm | undefined> {
  const benches = devBenchmarks(picked.kinds.length ? picked.kinds : ['regularizer']);
  const benchItems = benches.map((id) => ({ label: getBenchmark(id).title, description: id, id, picked: id === 'resnet20-cifar10' }));
  const chosen = await vscode.window.showQuickPick(benchItems, {
    title: 'Race Variants (2/5): benchmarks (held-out benchmarks are not raced on)',
    canPickMany: true,
  });
  if (!chosen?.length) return undefined;
  const ladders = [
    ...LADDER_PRESETS.map((l) => ({ label: l.ladder, detail: l.detail })),
    { label: 'Custom…', detail: 'budget[:epochs=N:train=N:test=N],… e.g. smoke,quick:epochs=2' },
  ];
  const ladderPick = await vscode.window.showQuickPick(ladders, { title: 'Race Variants (3/5): the ladder of budgets' });
  if (!ladderPick) return undefined;
  const ladder =
    ladderPick.label === 'Custom…'
      ? await vscode.window.showInputBox({
          title: 'Ladder',
          value: 'smoke,quick',
          validateInput: (t) =>
            /^[a-z]+(:[a-z]+=\d+)*(,[a-z]+(:[a-z]+=\d+)*)*$/.test(t.trim()) ? undefined : 'budget[:epochs=N:train=N:test=N], comma separated',
        })
      : ladderPick.label;
  if (!ladder) return undefined;
  const settings = readSettings();
  const seedText = await vscode.window.showInputBox({
    title: 'Race Variants (4/5): seeds (the race adds them rung by rung)',
    value: defaultSeedText(Math.max(3, settings.defaultSeeds)),
    validateInput: (t) => {
      const r = parseSeedList(t);
      return r.ok ? undefined : r.reason;
    },
  });
  const seeds = seedText === undefined ? undefined : parseSeedList(seedText);
  if (!seeds?.ok) return undefined;
  let slurm = false;
  if (onPath('sbatch')) {
    const where = await vscode.window.showQuickPick(
      [
        { label: 'Local', detail: `here, ${settings.concurrency} run(s) at a time (regbench.concurrency)` },
        { label: 'Slurm', detail: 'each rung as one job array (regbench.slurm.* settings)' },
      ],
      { title: 'Race Variants (5/5): where' },
    );
    if (!where) return undefined;
    slurm = where.label === 'Slurm';
  }
  return {
    candidates: picked.candidates,
    benches: chosen.map((c) => c.id as BenchId),
    ladder: ladder.trim(),
    seeds: seeds.value,
    slurm,
    slurmOptions: slurm ? slurmOptionsFromSettings() : undefined,
    concurrency: settings.concurrency,
    // Backend and device stay the CLI's choice per engine (a race may mix .ts and .py candidates).
    dataDir: settings.dataDirectory,
  };
}
