/**
 * What is wrong with a run's files, and rebuilding what can be rebuilt. `inspectRun` checks every
 * file of `.regbench/runs/<id>/` (record.json, events.jsonl line by line and against the record,
 * the variant snapshot against the hash the run recorded, the checkpoint's description and data
 * file) and says what it found, naming each file. `repairRun` rebuilds a damaged or missing
 * record.json from events.jsonl (the record is derived from the events, see run-record.ts), the
 * snapshot and the checkpoint; the damaged file is kept aside, never overwritten, and nothing the
 * user made is deleted. A run the rebuilt record leaves running whose process is gone is ended
 * as interrupted (store.reconcile). `repairStore` does every damaged run and matrix folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { getBenchmark, type RunSpec } from '../protocol/benchmarks';
import type { RunEvent } from '../protocol/events';
import { CHECKPOINT_DIR, checkpointMetaPath, resumePointText, type CheckpointInfo } from './checkpoint-info';
import { fieldProblems, keepAside, readJsonFile, type FileDamage } from './json-file';
import { applyEvent, foldSegments, runName, type RunRecord } from './run-record';
import { variantHash } from './run-request';
import { RECORD_FILE, type RunStore } from './run-store';
import { repairMatrix, scanMatrices } from './slurm/matrix';

export interface RunHealth {
  id: string;
  dir: string;
  record?: RunRecord;
  /** Set when record.json is damaged or missing. */
  recordDamage?: FileDamage;
  /** Folded (each epoch once). */
  events: RunEvent[];
  checkpoint?: CheckpointInfo;
  /** The snapshot file and whether its source is the one the run recorded. */
  snapshot?: { file: string; matches: boolean | undefined };
  /** Every problem found, record.json's first. */
  problems: FileDamage[];
}

interface CheckpointMeta extends CheckpointInfo {
  sha256?: string;
}

/** Reads every file of a run and says what is wrong with each; never throws for damage. */
export function inspectRun(store: RunStore, runId: string): RunHealth {
  const dir = store.runDir(runId);
  const read = store.read(runId);
  const problems: FileDamage[] = [];
  const record = read.ok ? read.record : undefined;
  const recordDamage = !read.ok
    ? 'damaged' in read
      ? read.damaged.damage
      : { file: store.shown(path.join(dir, RECORD_FILE)), reason: 'is missing' }
    : undefined;
  if (recordDamage) problems.push(recordDamage);
  const ev = store.readEvents(runId);
  problems.push(...ev.problems);
  const spec = record?.spec ?? firstSpec(ev.events);
  if (record && !ev.missing) {
    const disagreement = recordAgainstEvents(record, ev.events);
    if (disagreement) problems.push({ file: store.shown(path.join(dir, 'events.jsonl')), reason: disagreement });
  }
  const checkpoint = inspectCheckpoint(store, dir, ev.events, problems);
  const snapshot = spec ? inspectSnapshot(store, dir, record?.variantSnapshot, spec, problems) : undefined;
  return { id: runId, dir, record, recordDamage, events: foldSegments(ev.events), checkpoint, snapshot, problems };
}

function firstSpec(events: readonly RunEvent[]): RunSpec | undefined {
  const start = events.find((e) => e.type === 'run-start');
  return start?.type === 'run-start' ? start.spec : undefined;
}

/** The record the events give on top of `base` (the fields not derived from events). */
export function recordFromEvents(base: RunRecord, events: readonly RunEvent[]): RunRecord {
  let r: RunRecord = {
    ...base,
    status: 'queued',
    epochsCompleted: 0,
    bestTestAcc: null,
    finalTestAcc: null,
    epochSeconds: null,
    segments: undefined,
    startedAt: undefined,
    endedAt: undefined,
    env: undefined,
    error: undefined,
    reason: undefined,
  };
  for (const e of events) r = applyEvent(r, e);
  return r;
}

/** Why the record and its events tell different stories (events lost or altered), or undefined. */
function recordAgainstEvents(record: RunRecord, events: readonly RunEvent[]): string | undefined {
  const fromEvents = recordFromEvents(record, events);
  const fmt = (r: RunRecord) => `${r.status}, ${r.epochsCompleted} epochs, best ${r.bestTestAcc ?? '—'}, last ${r.finalTestAcc ?? '—'}`;
  const same =
    fromEvents.status === record.status &&
    fromEvents.epochsCompleted === record.epochsCompleted &&
    fromEvents.bestTestAcc === record.bestTestAcc &&
    fromEvents.finalTestAcc === record.finalTestAcc;
  return same ? undefined : `does not match record.json (events say ${fmt(fromEvents)}; the record says ${fmt(record)}): events were lost or altered`;
}

function inspectCheckpoint(store: RunStore, dir: string, events: readonly RunEvent[], problems: FileDamage[]): CheckpointInfo | undefined {
  const metaFile = checkpointMetaPath(dir);
  const shown = store.shown(metaFile);
  const read = readJsonFile<CheckpointMeta>(metaFile, (v) => fieldProblems(v, { epoch: 'number', step: 'number', file: 'string' }), shown);
  const recorded = [...events].reverse().find((e) => e.type === 'checkpoint');
  if (!read.ok) {
    if (!read.missing) problems.push(read.damage);
    else if (recorded?.type === 'checkpoint')
      problems.push({ file: shown, reason: `is missing though events.jsonl records a checkpoint at ${resumePointText(recorded)}: a resume starts over` });
    return undefined;
  }
  const meta = read.value;
  // The last checkpoint event and last.json describe the same checkpoint (the engine writes both).
  if (
    recorded?.type === 'checkpoint' &&
    (recorded.epoch !== meta.epoch ||
      recorded.step !== meta.step ||
      recorded.bytes !== meta.bytes ||
      (meta.weightsSha256 !== undefined && recorded.weightsSha256 !== meta.weightsSha256))
  ) {
    problems.push({
      file: shown,
      reason: `does not describe the checkpoint events.jsonl last recorded (${resumePointText(recorded)}, ${recorded.bytes} bytes): it was altered, or written just before a crash that lost the event`,
    });
  }
  const dataFile = path.join(dir, CHECKPOINT_DIR, meta.file);
  const dataShown = store.shown(dataFile);
  let data: Buffer | undefined;
  try {
    data = fs.readFileSync(dataFile);
  } catch {
    problems.push({ file: dataShown, reason: `is missing though ${path.basename(metaFile)} describes it: a resume starts over` });
  }
  if (data && ((meta.bytes && data.length !== meta.bytes) || (meta.sha256 && createHash('sha256').update(data).digest('hex') !== meta.sha256))) {
    problems.push({
      file: dataFile === dataShown ? dataFile : dataShown,
      reason: `is torn or altered (${data.length} bytes; last.json recorded ${meta.bytes} bytes and its checksum): a resume starts over`,
    });
  }
  return {
    engine: String(meta.engine ?? ''),
    epoch: meta.epoch,
    step: meta.step,
    file: meta.file,
    bytes: meta.bytes ?? 0,
    weightsSha256: meta.weightsSha256,
    time: meta.time,
  };
}

/** The snapshot's name as create() makes it, or the one the record gives. */
function snapshotName(spec: RunSpec): string {
  return `variant${path.extname(spec.variantPath) || '.txt'}`;
}

function inspectSnapshot(store: RunStore, dir: string, recorded: string | undefined, spec: RunSpec, problems: FileDamage[]): RunHealth['snapshot'] {
  const file = recorded ?? snapshotName(spec);
  const shown = store.shown(path.join(dir, file));
  let source: string;
  try {
    source = fs.readFileSync(path.join(dir, file), 'utf8');
  } catch {
    problems.push({
      file: shown,
      reason: `is missing: the run's copy of ${path.basename(spec.variantPath)} is gone (resume and rerun use the variant file if it is unchanged)`,
    });
    return { file, matches: undefined };
  }
  const matches = variantHash(source) === spec.variantHash;
  if (!matches)
    problems.push({
      file: shown,
      reason: `is not the source the run recorded (sha256 ${variantHash(source)}, the run has ${spec.variantHash}): it was altered or damaged`,
    });
  return { file, matches };
}

export interface RepairReport {
  runId: string;
  /** Whether record.json was (re)written. */
  rebuilt: boolean;
  /** One line per thing done or found, each naming its file. */
  lines: string[];
  record?: RunRecord;
}

/** Non-derived fields a damaged record.json may still hold legibly (its text, searched field by field). */
const SALVAGED = ['displayName', 'rerunOf', 'final', 'ownerPid', 'createdAt'] as const;

function salvage(text: string): Partial<RunRecord> {
  const out: Record<string, unknown> = {};
  for (const key of SALVAGED) {
    const m = new RegExp(`"${key}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*"|\\d+|true|false)`).exec(text);
    if (!m) continue;
    try {
      out[key] = JSON.parse(m[1]) as unknown;
    } catch {
      // Not legible after all.
    }
  }
  if (typeof out.ownerPid !== 'number') delete out.ownerPid;
  if (typeof out.final !== 'boolean') delete out.final;
  if (typeof out.createdAt !== 'string' || Number.isNaN(Date.parse(out.createdAt))) delete out.createdAt;
  return out as Partial<RunRecord>;
}

/** When the run id says it was created: 20261123-195812-... (local time, as newRunId writes it). */
function createdFromId(id: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-/.exec(id);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const date = new Date(y, mo - 1, d, h, mi, s);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The Slurm executor of a run, from the matrix folder that lists it. */
function executorFromMatrices(store: RunStore, runId: string): RunRecord['executor'] {
  for (const m of scanMatrices(store).matrices) {
    const i = m.runIds.indexOf(runId);
    if (i >= 0) return { kind: 'slurm', matrixId: m.id, arrayTaskId: i, jobId: m.jobId };
  }
  return undefined;
}

/**
 * Rebuilds a run's record.json when it is damaged or missing (see the module comment); a run whose
 * record is fine is left as it is and its other problems are reported.
 */
export function repairRun(store: RunStore, runId: string, now = new Date()): RepairReport {
  const health = inspectRun(store, runId);
  const others = health.problems.filter((p) => p !== health.recordDamage).map((p) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.reason}`);
  if (!health.recordDamage && health.record) {
    return {
      runId,
      rebuilt: false,
      record: health.record,
      lines: [`${store.shown(path.join(health.dir, RECORD_FILE))} is fine: nothing to rebuild`, ...others],
    };
  }
  const recordFile = path.join(health.dir, RECORD_FILE);
  const shown = store.shown(recordFile);
  const ev = store.readEvents(runId);
  const spec = firstSpec(ev.events);
  if (!spec) {
    const why = ev.missing
      ? 'events.jsonl is missing too'
      : ev.events.length
        ? 'events.jsonl has no run-start (its first lines are damaged)'
        : 'events.jsonl holds no readable event (the run never started, or it is damaged too)';
    return {
      runId,
      rebuilt: false,
      lines: [
        `${shown}: ${health.recordDamage?.reason ?? 'is damaged'}; cannot be rebuilt: ${why}. Nothing was changed; the run's files are left as they are (delete the folder ${store.shown(health.dir)} if it is not needed).`,
        ...others,
      ],
    };
  }
  let damagedText = '';
  try {
    damagedText = fs.readFileSync(recordFile, 'latin1');
  } catch {
    // Missing: nothing to salvage.
  }
  const kept = salvage(damagedText);
  const createdAt = kept.createdAt ?? createdFromId(runId) ?? ev.events[0]?.time ?? now.toISOString();
  const base: RunRecord = {
    id: runId,
    name: runName(spec.variantPath, getBenchmark(spec.bench).short, spec.seed, new Date(createdAt)),
    spec,
    status: 'queued',
    createdAt,
    epochsCompleted: 0,
    totalEpochs: spec.epochs,
    bestTestAcc: null,
    finalTestAcc: null,
    epochSeconds: null,
    variantSnapshot: health.snapshot?.file ?? snapshotName(spec),
    ...kept,
    executor: executorFromMatrices(store, runId),
  };
  const rebuilt = recordFromEvents(base, ev.events);
  const aside = keepAside(recordFile, now);
  store.writeRepaired(rebuilt);
  const lines = [
    `${shown}: ${health.recordDamage?.reason ?? 'was damaged'}; rebuilt from events.jsonl (${ev.events.length} events: ${rebuilt.status}, ${rebuilt.epochsCompleted}/${rebuilt.totalEpochs} epochs, best ${rebuilt.bestTestAcc === null ? '—' : `${rebuilt.bestTestAcc.toFixed(2)}%`})${aside ? `; the damaged file is kept as ${path.basename(aside)}` : ''}`,
  ];
  const salvaged = Object.keys(kept);
  if (salvaged.length) lines.push(`  kept from the damaged record: ${salvaged.join(', ')}`);
  if (rebuilt.executor) lines.push(`  its Slurm task: matrix ${rebuilt.executor.matrixId}, array task ${rebuilt.executor.arrayTaskId}`);
  if (health.checkpoint) lines.push(`  its checkpoint continues at ${resumePointText(health.checkpoint)}`);
  const final = store.reconcile(rebuilt);
  if (final.status !== rebuilt.status) lines.push(`  it was ${rebuilt.status} and its process is gone: now ${final.status}`);
  lines.push(...others.map((o) => `  ${o}`));
  return { runId, rebuilt: true, record: final, lines };
}

/** Repairs every damaged run and matrix folder of the store; one line per thing done. */
export function repairStore(store: RunStore, now = new Date()): { lines: string[]; failed: number } {
  const lines: string[] = [];
  let failed = 0;
  const { damaged } = store.scan();
  for (const d of damaged) {
    const report = repairRun(store, d.id, now);
    if (!report.rebuilt) failed++;
    lines.push(`run ${d.id}:`, ...report.lines.map((l) => (l.startsWith('  ') ? l : `  ${l}`)));
  }
  for (const m of scanMatrices(store).damaged) {
    const said = repairMatrix(store, m, now);
    if (said.some((l) => / cannot be rebuilt/.test(l))) failed++;
    lines.push(`matrix ${m.id}:`, ...said.map((l) => `  ${l}`));
  }
  if (!lines.length) lines.push(`nothing to repair: every run and matrix in ${store.shown(store.root)} is readable`);
  return { lines, failed };
}
