/** How numbers read in the dashboard's tables (names and labels: src/present/run-label.ts). */
import type { RunStatus } from '../src/protocol/events';

export function formatAcc(v: number | null | undefined): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(2) : '—';
}

export function formatDelta(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(2)}`;
}

export function formatSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export const STATUS_ICON: Record<RunStatus, string> = {
  queued: '○',
  running: '◔',
  completed: '✓',
  failed: '✕',
  diverged: '⚠',
  cancelled: '⊘',
  interrupted: '⏸',
};
