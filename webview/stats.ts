/** Seed statistics for the page: the one definition in src/runs/descriptive.ts (no dependencies). */
export { mean, sampleStd } from '../src/runs/descriptive';
