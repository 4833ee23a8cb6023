/**
 * The readable log of one run, as "Show Log" opens it: what ran, its log and error events, how
 * it ended, then the worker's stderr. Built from the run directory alone, so a run started by the
 * CLI reads the same as one of this window. No `vscode` import.
 */
import { getBenchmark } from '../protocol/benchmarks';
import type { RunEvent } from '../protocol/events';
import type { RunRecord } from '../runs/run-record';

export function runLogText(record: RunRecord, events: readonly RunEvent[], stderr: string | undefined): string {
  const spec = record.spec;
  const lines: string[] = [
    `# ${record.name}`,
    `run        ${record.id}`,
    `status     ${record.status}${record.reason ? ` (${record.reason})` : ''}`,
    `benchmark  ${getBenchmark(spec.bench).title}, budget ${spec.budget}: ${spec.epochs} epochs, train ${spec.trainSubset ?? 'all'}, test ${spec.testSubset ?? 'all'}, seed ${spec.seed}`,
    `variant    ${spec.variantPath} (sha256 ${spec.variantHash})`,
    `engine     ${spec.engine}${record.env ? `, ${record.env.backend} on ${record.env.platform}, ${record.env.cpus} cpus` : ''}`,
  ];
  if (record.env)
    lines.push(
      `versions   ${Object.entries(record.env.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  if (record.bestTestAcc !== null)
    lines.push(
      `accuracy   best ${record.bestTestAcc.toFixed(2)}%, last ${record.finalTestAcc?.toFixed(2) ?? '-'}% after ${record.epochsCompleted}/${record.totalEpochs} epochs`,
    );
  lines.push('', '## Events');
  let shown = 0;
  for (const e of events) {
    const line = eventLine(e);
    if (line) {
      lines.push(line);
      shown++;
    }
  }
  if (!shown) lines.push('(none yet)');
  lines.push('', '## Worker stderr');
  lines.push(stderr?.trim() ? stderr.trimEnd() : '(empty)');
  return lines.join('\n') + '\n';
}

function eventLine(e: RunEvent): string | undefined {
  const at = e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  switch (e.type) {
    case 'run-start':
      return `${at} start    ${e.trainImages} train / ${e.testImages} test images, ${e.stepsPerEpoch} steps per epoch`;
    case 'epoch':
      return `${at} epoch    ${e.epoch + 1}/${e.totalEpochs}: test ${e.testAcc.toFixed(2)}%, train loss ${e.trainLoss.toFixed(4)} (term ${e.regTerm.toFixed(4)}), ${e.seconds.toFixed(1)} s`;
    case 'log':
      return `${at} ${e.level.padEnd(8)} ${e.message}`;
    case 'error': {
      const where = e.file ? ` at ${e.file}${e.line ? `:${e.line}${e.column ? `:${e.column}` : ''}` : ''}` : '';
      const when = e.epoch !== undefined ? ` (epoch ${e.epoch + 1}${e.step !== undefined ? `, step ${e.step}` : ''})` : '';
      const detail = e.detail ? `\n${e.detail.replace(/^/gm, '    ')}` : '';
      return `${at} error    [${e.kind}] ${e.message}${where}${when}${detail}`;
    }
    case 'run-end':
      return `${at} end      ${e.status}${e.reason ? `: ${e.reason}` : ''} (${e.epochsCompleted} epochs, ${e.seconds.toFixed(0)} s)`;
    default:
      return undefined;
  }
}
