/**
 * Student's t distribution (CDF and quantile) from @stdlib, loaded on first use: initialising it
 * takes ~50 ms, half the editor's activation budget, and activation never needs it (lenses and the
 * dashboard ask later). The bundler still resolves these require calls; only their evaluation waits.
 */
import type TCdf from '@stdlib/stats-base-dists-t-cdf';
import type TQuantile from '@stdlib/stats-base-dists-t-quantile';

let tDist: { cdf: typeof TCdf; quantile: typeof TQuantile } | undefined;
function studentT(): { cdf: typeof TCdf; quantile: typeof TQuantile } {
  // Loaded on first use, not at import: the extension host imports this module at activation.
  /* eslint-disable @typescript-eslint/no-require-imports */
  tDist ??= {
    cdf: require('@stdlib/stats-base-dists-t-cdf') as typeof TCdf,
    quantile: require('@stdlib/stats-base-dists-t-quantile') as typeof TQuantile,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return tDist;
}

/** P(T_df <= x). */
export const tCdf = (x: number, df: number): number => studentT().cdf(x, df);
/** The x with P(T_df <= x) = p. */
export const tQuantile = (p: number, df: number): number => studentT().quantile(p, df);
