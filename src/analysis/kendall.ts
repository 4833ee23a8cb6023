/**
 * Kendall's tau-b between two paired lists of scores (ties in either list corrected for), the
 * statistic scipy.stats.kendalltau computes by default; a race uses it to say whether one rung's
 * ranking predicted the next one's. O(n^2): rankings here have tens of entries.
 */

/** Tau-b of x and y (same length); null when fewer than two pairs or either list is all ties. */
export function kendallTauB(x: readonly number[], y: readonly number[]): number | null {
  if (x.length !== y.length) throw new Error(`kendallTauB: lists of different lengths (${x.length} and ${y.length})`);
  const n = x.length;
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign(x[i] - x[j]);
      const dy = Math.sign(y[i] - y[j]);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiesX++;
      else if (dy === 0) tiesY++;
      else if (dx === dy) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesX) * (concordant + discordant + tiesY));
  return denom === 0 ? null : (concordant - discordant) / denom;
}
