/**
 * Writes one image into a batch: the training form (RandomCrop(32, padding=4) with zero padding,
 * then horizontal flip) and the evaluation form (as is), both normalized through the channel LUT.
 * The crop offset (dy, dx) in [-4, 4] is torchvision's top/left draw minus the padding:
 * out(y, x) = src(y + dy, x' + dx) with x' = 31 - x when flipped, else x; outside the source it
 * is the padding byte 0, normalized like any other byte (as torchvision pads before ToTensor).
 */
import { PROTOCOL } from '../../protocol/benchmarks';
import { IMAGE_BYTES, IMAGE_SIZE } from './types';

const S = IMAGE_SIZE;
const ROW = S * 3;

export const CROP_PADDING: number = PROTOCOL.image.cropPadding;

export function writeAugmentedImage(
  src: Uint8Array,
  srcOffset: number,
  lut: Float32Array,
  dy: number,
  dx: number,
  flip: boolean,
  dst: Float32Array,
  dstOffset: number,
): void {
  const pad0 = lut[0];
  const pad1 = lut[256];
  const pad2 = lut[512];
  // Output columns whose source column is inside the image: a contiguous range [x0, x1).
  const x0 = flip ? Math.max(0, dx) : Math.max(0, -dx);
  const x1 = flip ? Math.min(S, S + dx) : Math.min(S, S - dx);
  for (let y = 0; y < S; y++) {
    let o = dstOffset + y * ROW;
    const sy = y + dy;
    if (sy < 0 || sy >= S) {
      for (let x = 0; x < S; x++, o += 3) {
        dst[o] = pad0;
        dst[o + 1] = pad1;
        dst[o + 2] = pad2;
      }
      continue;
    }
    const srow = srcOffset + sy * ROW;
    for (let x = 0; x < x0; x++, o += 3) {
      dst[o] = pad0;
      dst[o + 1] = pad1;
      dst[o + 2] = pad2;
    }
    if (flip) {
      let s = srow + (S - 1 - x0 + dx) * 3;
      for (let x = x0; x < x1; x++, o += 3, s -= 3) {
        dst[o] = lut[src[s]];
        dst[o + 1] = lut[256 + src[s + 1]];
        dst[o + 2] = lut[512 + src[s + 2]];
      }
    } else {
      let s = srow + (x0 + dx) * 3;
      for (let x = x0; x < x1; x++, o += 3, s += 3) {
        dst[o] = lut[src[s]];
        dst[o + 1] = lut[256 + src[s + 1]];
        dst[o + 2] = lut[512 + src[s + 2]];
      }
    }
    for (let x = x1; x < S; x++, o += 3) {
      dst[o] = pad0;
      dst[o + 1] = pad1;
      dst[o + 2] = pad2;
    }
  }
}

export function writeNormalizedImage(src: Uint8Array, srcOffset: number, lut: Float32Array, dst: Float32Array, dstOffset: number): void {
  for (let i = 0; i < IMAGE_BYTES; i += 3) {
    dst[dstOffset + i] = lut[src[srcOffset + i]];
    dst[dstOffset + i + 1] = lut[256 + src[srcOffset + i + 1]];
    dst[dstOffset + i + 2] = lut[512 + src[srcOffset + i + 2]];
  }
}
