/** Seed statistics for the page: the one definition, through src/present/seed-spread.ts. */
export { mean, sampleStd } from '../src/present/seed-spread';
