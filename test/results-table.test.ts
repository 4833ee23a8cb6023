/**
 * Results tables (src/analysis/results-table.ts, results-format.ts, src/cli/table-command.ts): built
 * from run records, then every format parsed back (Markdown, CSV, JSON; LaTeX compiled with
 * pdflatex when it is installed, and checked structurally either way).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchId, BudgetId, EngineId } from '../src/protocol/benchmarks';
import type { RunRecord } from '../src/runs/run-record';
import { RECORD_FILE } from '../src/runs/run-store';
import { variantHash } from '../src/runs/run-request';
import { baselineHashes } from '../src/analysis/run-groups';
import { buildResultsTable, TableError, type ResultsTable } from '../src/analysis/results-table';
import { CSV_HEADER, JSON_FORMAT_ID, renderTable } from '../src/analysis/results-format';
import { describe as stats } from '../src/analysis/statistics';
import { fixtureRecord } from './fixtures/run-records';
import { requireTool, skipUnless } from './requirements';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'bin', 'regbench.js');
const templates = path.join(root, 'templates');
const BLANK = variantHash(fs.readFileSync(path.join(templates, 'regularizers/blank.ts'), 'utf8'));
const baselines = baselineHashes(templates);
let clock = 0;

interface Over {
  bench?: BenchId;
  budget?: BudgetId;
  engine?: EngineId;
  epochs?: number;
  final?: boolean;
}

function run(file: string, hash: string, seed: number, best: number, o: Over = {}): RunRecord {
  clock++;
  const bench = o.bench ?? 'resnet20-cifar10';
  const id = `20261201-11${String(clock).padStart(4, '0')}-${bench}-0000`;
  const at = new Date(Date.UTC(2026, 11, 1, 11, clock)).toISOString();
  return fixtureRecord(
    id,
    at,
    {
      bench,
      arch: 'resnet20',
      dataset: 'cifar10',
      numClasses: 10,
      budget: o.budget ?? 'quick',
      epochs: o.epochs ?? 5,
      trainSubset: 10000,
      testSubset: 2000,
      seed,
      engine: o.engine ?? 'tfjs',
      variantPath: `/ws/variants/${file}`,
      variantHash: hash,
    },
    { epochsCompleted: 5, totalEpochs: 5, bestTestAcc: best, finalTestAcc: best, epochSeconds: 1, final: o.final },
  );
}

const BASE20 = [45.0, 45.6, 44.9];
const CP20 = [46.8, 47.1, 46.5];
const OR20 = [45.2, 44.7, 45.9];

function fixture(): RunRecord[] {
  return [
    ...BASE20.map((v, s) => run('blank.ts', BLANK, s, v)),
    ...[30.1, 30.5, 29.8].map((v, s) => run('blank.ts', BLANK, s, v, { bench: 'resnet56-cifar100' })),
    ...CP20.map((v, s) => run('confidence-penalty.ts', 'cp', s, v)),
    run('confidence-penalty.ts', 'cp', 0, 30.3, { bench: 'resnet56-cifar100' }),
    ...OR20.map((v, s) => run('orthogonal-reg.ts', 'or', s, v)),
    // Held out: no final evaluation yet, so these never reach a table.
    run('confidence-penalty.ts', 'cp', 0, 88.0, { bench: 'mobilenetv2-fmnist' }),
    run('orthogonal-reg.ts', 'or', 0, 87.0, { bench: 'mobilenetv2-fmnist' }),
  ];
}

function table(records: RunRecord[] = fixture()): ResultsTable {
  return buildResultsTable(records, { kind: 'regularizer', baselines });
}

/** Markdown table rows as arrays of cells (header first), without the alignment row. */
function parseMarkdown(md: string): string[][] {
  return md
    .split('\n')
    .filter((l) => l.startsWith('| '))
    .map((l) => l.slice(2, -2).split(' | '));
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.trim().split('\n')) {
    const cells: string[] = [];
    const re = /("(?:[^"]|"")*"|[^,]*)(,|$)/g;
    for (let m = re.exec(line); m && m.index < line.length; m = re.exec(line)) {
      cells.push(m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]);
      if (m[2] === '') break;
    }
    rows.push(cells);
  }
  return rows;
}

test('markdown: baseline first, mean ± std (n), best in bold, significance marks, external rows; no held-out column yet', () => {
  const rows = parseMarkdown(renderTable(table(), 'md'));
  const [header, ...body] = rows;
  assert.deepEqual(header, ['variant', 'source', 'ResNet-56/C100', 'VGG-16-BN/C100', 'ResNet-20/C10']);
  const byName = new Map(body.map((r) => [r[0], r]));
  assert.equal(body[0][0], 'blank (baseline)');
  const b = stats(BASE20);
  assert.equal(byName.get('blank (baseline)')?.[4], `${b.mean.toFixed(1)} ± ${b.std.toFixed(1)} (n=3)`);
  const cp = byName.get('confidence-penalty');
  // scipy.stats.ttest_rel (the same seeds 0-2): p = 0.00290, Holm over the column's two variants: 0.00581 -> ‡.
  assert.equal(cp?.[4], '**46.8 ± 0.3 (n=3)**‡');
  assert.equal(cp?.[2], '**30.3 (n=1)**', 'n = 1: no significance mark (the best of its column all the same)');
  assert.equal(cp?.[3], '—');
  assert.equal(byName.get('orthogonal-reg')?.[4], '45.3 ± 0.6 (n=3)');
  const external = body.filter((r) => r[1] === 'external (published)');
  assert.ok(external.length >= 4);
  assert.ok(external.some((r) => r[0].startsWith('confidence penalty [external') && r[2] === '72.66' && r[3] === '74.31'));
  assert.ok(external.some((r) => r[0].startsWith('plain BatchNorm (public reference)') && r[4] === '92.60'));
  assert.ok(!rows.flat().some((c) => c.includes('88.0') || c.includes('MobileNetV2')), 'the held-out numbers stay hidden');
});

test('significance: paired t where the seeds match, Welch where they differ, Holm over each column; the notes say which', () => {
  const t = table();
  const cp = t.rows.find((r) => r.variantHash === 'cp');
  const or = t.rows.find((r) => r.variantHash === 'or');
  const c20 = cp?.cells['resnet20-cifar10'];
  const o20 = or?.cells['resnet20-cifar10'];
  assert.ok(c20 && o20);
  // scipy.stats.ttest_rel: 0.0029028 and 0.87266; Holm by hand: 2 x 0.0029028, then max(0.0058055, 0.87266).
  assert.equal(c20.test, 'paired, n=3 seeds');
  assert.equal(c20.p?.toFixed(7), '0.0029028');
  assert.equal(c20.pHolm?.toFixed(7), '0.0058055');
  assert.equal(o20.pHolm?.toFixed(5), '0.87266');
  assert.equal(o20.mark, '');
  // ttest_ind(equal_var=False) on the same numbers: 0.0049649 (kept beside the paired p).
  assert.equal(c20.pWelch?.toFixed(7), '0.0049649');
  assert.equal(c20.signFlipP, 0.25);
  const c56 = cp?.cells['resnet56-cifar100'];
  assert.equal(c56?.test, 'unpaired: seeds differ');
  assert.equal(c56?.p, null, 'n = 1: no test');
  assert.ok(t.notes.includes('ResNet-20/C10: paired, n=3 seeds (2 variants against the baseline, Holm over 2).'), t.notes.join('\n'));
  assert.ok(t.notes.includes('ResNet-56/C100: unpaired: seeds differ (1 variant against the baseline).'), t.notes.join('\n'));
  // A candidate seed the baseline lacks: that column falls back to Welch and says so.
  const t2 = table([...fixture(), run('confidence-penalty.ts', 'cp', 4, 46.9)]);
  const w = t2.rows.find((r) => r.variantHash === 'cp')?.cells['resnet20-cifar10'];
  assert.equal(w?.test, 'unpaired: seeds differ');
  assert.equal(w?.p, w?.pWelch);
  assert.ok(
    t2.notes.includes(
      'ResNet-20/C10: unpaired: seeds differ for confidence-penalty; paired, n=3 seeds for orthogonal-reg (2 variants against the baseline, Holm over 2).',
    ),
    t2.notes.join('\n'),
  );
});

test('held-out column: shown after a final evaluation, only with final numbers', () => {
  const records = [
    ...fixture(),
    run('confidence-penalty.ts', 'cp', 0, 91.5, { bench: 'mobilenetv2-fmnist', final: true }),
    run('confidence-penalty.ts', 'cp', 0, 91.7, { bench: 'mobilenetv2-fmnist', final: true }),
  ];
  const t = table(records);
  assert.deepEqual(
    t.columns.map((c) => [c.bench, c.heldOut]).find((c) => c[0] === 'mobilenetv2-fmnist'),
    ['mobilenetv2-fmnist', true],
  );
  const cp = t.rows.find((r) => r.variantHash === 'cp');
  // Both final evaluations count, and so does the earlier unmarked run of the same source (88.0):
  // once a final evaluation exists every held-out run of that source shows (no quiet best-of-N).
  assert.deepEqual(cp?.cells['mobilenetv2-fmnist']?.n, 3);
  assert.equal(cp?.cells['mobilenetv2-fmnist']?.final, true);
  assert.deepEqual(t.rows.find((r) => r.variantHash === 'or')?.hidden, ['mobilenetv2-fmnist']);
  const md = parseMarkdown(renderTable(t, 'md'));
  assert.ok(md[0].includes('MobileNetV2/FMNIST (held out)'));
  assert.equal(md.find((r) => r[0] === 'orthogonal-reg')?.[md[0].indexOf('MobileNetV2/FMNIST (held out)')], 'held out');
});

test('json and csv parse back to the same numbers', () => {
  const t = table();
  const json = JSON.parse(renderTable(t, 'json')) as ResultsTable & { format: string };
  assert.equal(json.format, JSON_FORMAT_ID);
  assert.deepEqual(json.rows, t.rows);
  const cpCell = t.rows.find((r) => r.variantHash === 'cp')?.cells['resnet20-cifar10'];
  assert.ok(cpCell && cpCell.p !== null && cpCell.p < 0.05 && cpCell.diff !== null);
  const [header, ...lines] = parseCsv(renderTable(t, 'csv'));
  assert.deepEqual(header, [...CSV_HEADER]);
  const col = (name: (typeof CSV_HEADER)[number]) => header.indexOf(name);
  const measured = lines.filter((l) => l[col('source')] === 'measured');
  assert.equal(measured.length, 5);
  const cp = measured.find((l) => l[col('hash')] === 'cp' && l[col('bench')] === 'resnet20-cifar10');
  assert.ok(cp);
  assert.equal(Number(cp[col('mean')]), cpCell.mean);
  assert.equal(Number(cp[col('std')]), cpCell.std);
  assert.equal(Number(cp[col('p')]), cpCell.p);
  assert.equal(Number(cp[col('p_holm')]), cpCell.pHolm);
  assert.equal(cp[col('test')], 'paired, n=3 seeds');
  assert.equal(Number(cp[col('p_welch')]), cpCell.pWelch);
  assert.equal(Number(cp[col('p_sign_flip')]), 0.25);
  assert.ok(
    lines.filter((l) => l[col('source')] !== 'measured').every((l) => l.length === CSV_HEADER.length),
    'external lines (which end in numbers) have every column',
  );
  assert.equal(cp[col('best')], 'true');
  const ranged = lines.find((l) => l[col('variant')] === 'DropBlock-style co-activation penalty' && l[col('bench')] === 'resnet56-cifar100');
  assert.deepEqual([ranged?.[col('published_low')], ranged?.[col('published_high')]], ['71.36', '72.65']);
  assert.ok(lines.filter((l) => l[col('source')] !== 'measured').every((l) => l[col('source')].startsWith('external: ')));
});

const hasPdflatex = spawnSync('pdflatex', ['--version']).status === 0;

test('latex: booktabs structure, one cell per column in every row', () => {
  const tex = renderTable(table(), 'latex');
  assert.match(tex, /\\usepackage\{booktabs\}/);
  const body = tex.slice(tex.indexOf('\\toprule'), tex.indexOf('\\bottomrule'));
  const rows = body.split('\n').filter((l) => l.endsWith('\\\\') && !l.startsWith('\\multicolumn'));
  assert.ok(rows.length >= 8);
  for (const r of rows) assert.equal(r.split(/(?<!\\)&/).length, 4, r);
  assert.match(tex, /\\textbf\{46\.8 \$\\pm\$ 0\.3 \(n=3\)\}\$\^\{\\(dagger|ddagger)\}\$/);
  assert.match(tex, /\\multicolumn\{4\}\{l\}\{\\emph\{Published figures \(external, not measured here/);
  assert.ok(
    [...tex].every((c) => c.charCodeAt(0) < 0x80),
    'ASCII only',
  );
});

test('latex compiles as is with pdflatex', { skip: skipUnless('pdflatex', hasPdflatex) }, (ctx) => {
  if (!requireTool(ctx, 'pdflatex', hasPdflatex)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-tex-'));
  const t = table([...fixture(), run('my_reg&co.ts', 'weird', 0, 40, {}), run('my_reg&co.ts', 'weird', 1, 41, {})]);
  fs.writeFileSync(path.join(dir, 'table.tex'), renderTable(t, 'latex'));
  const r = spawnSync('pdflatex', ['-interaction=nonstopmode', '-halt-on-error', 'table.tex'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stdout.slice(-2000));
  assert.ok(fs.statSync(path.join(dir, 'table.pdf')).size > 1000);
});

test('runs of different budgets, engines or recipes are refused with the reason', () => {
  const mixedBudget = [...fixture(), run('blank.ts', BLANK, 0, 20, { budget: 'smoke' })];
  assert.throws(
    () => table(mixedBudget),
    (e: Error) => e instanceof TableError && /2 different budgets \(quick, smoke\).*--budget/.test(e.message),
  );
  assert.equal(buildResultsTable(mixedBudget, { kind: 'regularizer', baselines, budget: 'quick' }).budget, 'quick');
  const mixedEngine = [...fixture(), run('blank.py', 'bp', 0, 46, { engine: 'pytorch' })];
  assert.throws(() => table(mixedEngine), /2 different engines \(tfjs, pytorch\).*--engine/);
  const mixedRecipe = [...fixture(), run('confidence-penalty.ts', 'cp2', 0, 40, { epochs: 3 })];
  assert.throws(() => table(mixedRecipe), /ResNet-20\/CIFAR-10 the runs of blank and confidence-penalty used different recipes \(epochs 5 vs 3\)/);
  assert.throws(() => buildResultsTable([], { kind: 'norm', baselines }), /no completed runs of normalization layers/);
});

test('regbench table: prints the table; refuses mixed budgets with exit 2', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-table-'));
  const plant = (r: RunRecord) => {
    const dir = path.join(ws, '.regbench', 'runs', r.id);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, RECORD_FILE), JSON.stringify(r));
  };
  fixture().forEach(plant);
  const cmd = (args: string[]) => spawnSync(process.execPath, [cli, 'table', ...args, '--workspace', ws], { encoding: 'utf8' });
  const md = cmd(['--format', 'md']);
  assert.equal(md.status, 0, md.stderr);
  assert.match(md.stdout, /\| blank \(baseline\) \| measured here \|/);
  const csv = cmd(['--kind', 'reg', '--budget', 'quick', '--format', 'csv', '--out', path.join(ws, 't.csv')]);
  assert.equal(csv.status, 0, csv.stderr);
  assert.equal(fs.readFileSync(path.join(ws, 't.csv'), 'utf8').split('\n')[0], CSV_HEADER.join(','));
  plant(run('blank.ts', BLANK, 0, 20, { budget: 'smoke' }));
  const mixed = cmd(['--format', 'latex']);
  assert.equal(mixed.status, 2);
  assert.match(mixed.stderr, /cannot make the table: the runs are at 2 different budgets/);
  assert.equal(cmd(['--format', 'xls']).status, 2);
});
