/**
 * The layout conversions of the parity check (src/engine/parity/layout.ts) against index formulas
 * written out per kind, round trips, and the error paths; plus the error measures of compare.ts.
 * Pure JavaScript, no Python, no TensorFlow.js backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPermutation, tfjsShapeOf, tfjsToTorch, torchToTfjs, type HostTensor, type TensorKind } from '../src/engine/parity/layout';
import { maxAbsDiff, maxRelativeDiff, worstOf } from '../src/engine/parity/compare';

/** Values that encode their own PyTorch index, so a misplaced value is visible. */
function indexed(shape: number[]): HostTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: size }, (_, i) => i), shape };
}

test('conv weight OIHW [out, in, kh, kw] -> HWIO [kh, kw, in, out]: element (o, i, y, x) lands at (y, x, i, o)', () => {
  const [O, I, H, W] = [5, 3, 2, 4];
  const torch = indexed([O, I, H, W]);
  const tf = torchToTfjs('conv', torch);
  assert.deepEqual(tf.shape, [H, W, I, O]);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(tf.data[((y * W + x) * I + i) * O + o], torch.data[((o * I + i) * H + y) * W + x]);
  assert.deepEqual(tfjsToTorch('conv', tf), torch);
});

test('depthwise weight [C, 1, kh, kw] -> [kh, kw, C, 1]: element (c, 0, y, x) lands at (y, x, c, 0)', () => {
  const [C, H, W] = [6, 3, 3];
  const torch = indexed([C, 1, H, W]);
  const tf = torchToTfjs('depthwise', torch);
  assert.deepEqual(tf.shape, [H, W, C, 1]);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(tf.data[(y * W + x) * C + c], torch.data[(c * H + y) * W + x]);
  assert.deepEqual(tfjsToTorch('depthwise', tf), torch);
  // The same PyTorch shape read as an ordinary conv with one input channel is laid out otherwise.
  assert.deepEqual(torchToTfjs('conv', torch).shape, [H, W, 1, C]);
  assert.throws(() => torchToTfjs('depthwise', indexed([C, 2, H, W])), /\[C, 1, kh, kw\]/);
  assert.throws(() => tfjsToTorch('depthwise', indexed([H, W, C, 2])), /\[kh, kw, C, 1\]/);
});

test('linear weight [out, in] <-> [in, out] is a transpose', () => {
  const torch = indexed([4, 7]);
  const tf = torchToTfjs('linear', torch);
  assert.deepEqual(tf.shape, [7, 4]);
  for (let o = 0; o < 4; o++) for (let i = 0; i < 7; i++) assert.equal(tf.data[i * 4 + o], torch.data[o * 7 + i]);
  assert.deepEqual(tfjsToTorch('linear', tf), torch);
});

test('activations NCHW -> NHWC: element (b, c, y, x) lands at (b, y, x, c), and back', () => {
  const [B, C, H, W] = [2, 3, 4, 5];
  const torch = indexed([B, C, H, W]);
  const tf = torchToTfjs('activations', torch);
  assert.deepEqual(tf.shape, [B, H, W, C]);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(tf.data[((b * H + y) * W + x) * C + c], torch.data[((b * C + c) * H + y) * W + x]);
  assert.deepEqual(tfjsToTorch('activations', tf), torch);
});

test('vectors are copied as they are, into a new array', () => {
  const v = indexed([9]);
  const out = torchToTfjs('vector', v);
  assert.deepEqual(out, v);
  assert.notEqual(out.data, v.data);
});

test('tfjsShapeOf agrees with the converted shapes for every kind', () => {
  const cases: Array<[TensorKind, number[]]> = [
    ['conv', [8, 4, 3, 3]],
    ['depthwise', [8, 1, 3, 3]],
    ['linear', [10, 64]],
    ['activations', [2, 3, 32, 32]],
    ['vector', [16]],
  ];
  for (const [kind, shape] of cases) assert.deepEqual(tfjsShapeOf(kind, shape), torchToTfjs(kind, indexed(shape)).shape, kind);
});

test('conversions reject a wrong rank, a size that does not match the shape, and a non-permutation', () => {
  assert.throws(() => torchToTfjs('conv', indexed([4, 4])), /rank 4/);
  assert.throws(() => torchToTfjs('linear', indexed([2, 2, 2])), /rank 2/);
  assert.throws(() => torchToTfjs('vector', { data: new Float32Array(3), shape: [4] }), /holds 4 values, got 3/);
  assert.throws(() => applyPermutation(indexed([2, 3]), [0, 0]), /not a permutation/);
  assert.throws(() => applyPermutation(indexed([2, 3]), [1, 0, 2]), /not a permutation/);
});

test('a VGG-sized conv weight converts both ways in well under a second', () => {
  const w = indexed([512, 512, 3, 3]);
  const t0 = Date.now();
  const back = tfjsToTorch('conv', torchToTfjs('conv', w));
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  assert.equal(maxAbsDiff(back.data, w.data), 0);
});

test('error measures: relative to the reference maximum, NaN never hidden, worst tensor named', () => {
  assert.equal(maxAbsDiff([1, 2, 3], [1, 2.5, 2]), 1);
  assert.equal(maxRelativeDiff([1, 2, 3], [1, 2, 4]), 0.25);
  assert.equal(maxRelativeDiff([0.5], [0]), 0.5);
  assert.ok(Number.isNaN(maxAbsDiff([1, NaN], [1, 1])));
  assert.ok(Number.isNaN(maxAbsDiff([NaN, 5], [1, 1])));
  assert.throws(() => maxAbsDiff([1], [1, 2]), /cannot compare/);
  const pairs = [
    { name: 'a', a: [1], b: [1] },
    { name: 'b', a: [3], b: [1] },
    { name: 'c', a: [2], b: [1] },
  ];
  assert.deepEqual(worstOf(pairs, maxAbsDiff), { error: 2, worst: 'b' });
  const withNaN = worstOf([...pairs.slice(0, 1), { name: 'n', a: [NaN], b: [1] }, ...pairs.slice(1)], maxAbsDiff);
  assert.equal(withNaN.worst, 'n');
  assert.ok(Number.isNaN(withNaN.error));
});
