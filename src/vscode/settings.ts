/**
 * Regbench's settings (contributes.configuration in package.json), read into one typed object.
 * Values a user typed by hand in settings.json are checked here; a bad one falls back to the
 * default rather than failing a run later.
 */
import * as vscode from 'vscode';
import { BUDGET_IDS, type BackendId, type BudgetId } from '../protocol/benchmarks';

export const SECTION = 'regbench';

export interface RegbenchSettings {
  /** Absolute data directory, or undefined for the default lookup. */
  dataDirectory: string | undefined;
  concurrency: number;
  defaultBudget: BudgetId;
  /** Runs seeds 0..defaultSeeds-1. */
  defaultSeeds: number;
  /** undefined: the best available backend. */
  backend: BackendId | undefined;
  pythonPath: string | undefined;
  /** undefined: CUDA when available. */
  device: 'cpu' | 'cuda' | undefined;
}

const BACKENDS: readonly BackendId[] = ['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'];

export function readSettings(): RegbenchSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const text = (key: string) => {
    const v = c.get<string>(key);
    return typeof v === 'string' && v.trim() ? v.trim() : undefined;
  };
  const positive = (key: string, fallback: number) => {
    const v = c.get<number>(key);
    return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : fallback;
  };
  const budget = c.get<string>('defaultBudget');
  const backend = c.get<string>('backend');
  const device = c.get<string>('device');
  return {
    dataDirectory: text('dataDirectory'),
    concurrency: positive('concurrency', 1),
    defaultBudget: BUDGET_IDS.includes(budget as BudgetId) ? (budget as BudgetId) : 'quick',
    defaultSeeds: positive('defaultSeeds', 1),
    backend: BACKENDS.includes(backend as BackendId) ? (backend as BackendId) : undefined,
    pythonPath: text('pythonPath'),
    device: device === 'cpu' || device === 'cuda' ? device : undefined,
  };
}

/** Fires when a Regbench setting changes. */
export function onSettingsChange(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION)) listener();
  });
}
