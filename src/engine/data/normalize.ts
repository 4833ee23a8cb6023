/**
 * Per-channel normalization `(x/255 - mean) / std` with the dataset's constants, as a lookup
 * table of 256 values per channel: the batch loops then cost one table read per value. Values
 * are computed in double precision and rounded once to float32 (PyTorch rounds after each float32
 * operation; the two differ by at most one float32 ulp).
 */
import { DATASET_STATS, type DatasetId } from '../../protocol/benchmarks';

/** `lut[c * 256 + v]` is the normalized value of byte `v` in channel `c` (RGB). */
export function normalizationLut(dataset: DatasetId): Float32Array {
  const { mean, std } = DATASET_STATS[dataset];
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  }
  return lut;
}
