/**
 * Hand-written wasm SIMD loops that run directly on the tfjs wasm heap (they import the backend's
 * own memory), for the element-wise passes of training that the stock wasm backend does with
 * several slow scalar kernels: per-channel sums for BatchNorm, BatchNorm's input gradient as one
 * affine pass, and the ReLU / ReLU6 gradient as one masked copy. Each loop reads every input once
 * and writes its output once; they run on the calling thread (one core), which for these
 * memory-bound passes already beats the 3-5 scalar kernels they replace (docs/kernels.md).
 *
 * Pointers are byte offsets into the heap; `cb` is the channel count times 4 (bytes per row)
 * and must be a multiple of 16; every row count and byte count must be positive.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { F32, I32, V128, encodeModule, op, type FunctionDef } from './wasm-encoder';

export interface SimdLoops {
  /** acc[c] += x - shift[c]; acc[C + c] += (x - shift[c])^2, over `rows` rows of x. */
  moments(x: number, shift: number, acc: number, rows: number, cb: number): void;
  /** acc[c] += dy; acc[C + c] += dy * (x - shift[c]), over `rows` rows of dy and x. */
  gradSums(dy: number, x: number, shift: number, acc: number, rows: number, cb: number): void;
  /** out = x * a[c] + b[c], over `rows` rows. */
  affine(x: number, a: number, b: number, out: number, rows: number, cb: number): void;
  /** out = dy * a[c] + x * k[c] + b[c], over `rows` rows. */
  affine2(dy: number, x: number, a: number, k: number, b: number, out: number, rows: number, cb: number): void;
  /**
   * out = (x <= 0 || x > cap) ? 0 : dy over `bytes` bytes (a multiple of 16): tfjs-core's mask
   * (0 at x = 0, dy at x = cap) except at x = NaN, where dy passes as in PyTorch.
   */
  maskedCopy(dy: number, x: number, out: number, bytes: number, cap: number): void;
  /** out = min(max(x, lo), hi) over `bytes` bytes (a multiple of 16); NaN stays NaN. */
  clamp(x: number, out: number, bytes: number, lo: number, hi: number): void;
  /**
   * Depthwise filter-gradient taps along one output row: for t = 0..k-1 and each channel,
   * acc[t*C + c] += sum over i < count of x[i*xStep + t*cb + c] * dy[i*cb + c] (byte strides;
   * `dwTaps1` is one tap, `dwTaps3` / `dwTaps5` three / five neighbouring taps sharing the dy loads).
   */
  dwTaps1: DepthwiseTaps;
  dwTaps3: DepthwiseTaps;
  dwTaps5: DepthwiseTaps;
  /**
   * acc[i][o] += sum over r < rows of x[r][i] * dy[r][o]: one tap of a filter gradient over a run
   * of pixels, as rank-1 updates of 4x8 tiles held in registers (no transposes, nothing packed).
   * `xb` = Cin*4 and `dyb` = Cout*4 bytes (also dy's row stride); x's rows are `xStep` bytes apart
   * (stride * Cin*4 along an image row). Cin % 4 == 0, Cout % 8 == 0, rows >= 1.
   */
  outerProduct(x: number, dy: number, acc: number, rows: number, xb: number, dyb: number, xStep: number): void;
}

type DepthwiseTaps = (x: number, dy: number, acc: number, count: number, cb: number, xStep: number) => void;

/** The widths with their own fused loop; other widths run tap by tap. */
export const FUSED_TAP_WIDTHS = [1, 3, 5] as const;

// Loop skeleton over rows: `rows` (local index) counts down to zero; `advance` moves the row
// pointers, `inner` runs over j = 0, 16, ..., cb - 16 (local `j`).
function rowLoop(rows: number, j: number, cb: number, inner: number[][], advance: number[][]): number[][] {
  return [
    op.block,
    op.loop,
    op.localGet(rows),
    [0x45 /* i32.eqz */],
    op.brIf(1),
    op.i32Const(0),
    op.localSet(j),
    op.loop,
    ...inner,
    op.localGet(j),
    op.i32Const(16),
    op.i32Add,
    op.localTee(j),
    op.localGet(cb),
    op.i32LtU,
    op.brIf(0),
    op.end,
    ...advance,
    op.localGet(rows),
    op.i32Const(-1),
    op.i32Add,
    op.localSet(rows),
    op.br(0),
    op.end,
    op.end,
  ];
}

const load = (base: number, j: number): number[][] => [op.localGet(base), op.localGet(j), op.i32Add, op.v128Load];
const bump = (ptr: number, cb: number): number[][] => [op.localGet(ptr), op.localGet(cb), op.i32Add, op.localSet(ptr)];

function momentsDef(): FunctionDef {
  // params: x 0, shift 1, acc 2, rows 3, cb 4; locals: j 5, v 6, a 7
  const [x, shift, acc, rows, cb, j, v, a] = [0, 1, 2, 3, 4, 5, 6, 7];
  const inner = [
    ...load(x, j),
    ...load(shift, j),
    op.f32x4Sub,
    op.localSet(v),
    op.localGet(acc),
    op.localGet(j),
    op.i32Add,
    op.localTee(a),
    op.localGet(a),
    op.v128Load,
    op.localGet(v),
    op.f32x4Add,
    op.v128Store,
    op.localGet(a),
    op.localGet(cb),
    op.i32Add,
    op.localTee(a),
    op.localGet(a),
    op.v128Load,
    op.localGet(v),
    op.localGet(v),
    op.f32x4Mul,
    op.f32x4Add,
    op.v128Store,
  ];
  return { exportName: 'moments', params: [I32, I32, I32, I32, I32], locals: [I32, V128, I32], body: rowLoop(rows, j, cb, inner, bump(x, cb)) };
}

function gradSumsDef(): FunctionDef {
  // params: dy 0, x 1, shift 2, acc 3, rows 4, cb 5; locals: j 6, d 7, a 8
  const [dy, x, shift, acc, rows, cb, j, d, a] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const inner = [
    ...load(dy, j),
    op.localSet(d),
    op.localGet(acc),
    op.localGet(j),
    op.i32Add,
    op.localTee(a),
    op.localGet(a),
    op.v128Load,
    op.localGet(d),
    op.f32x4Add,
    op.v128Store,
    op.localGet(a),
    op.localGet(cb),
    op.i32Add,
    op.localTee(a),
    op.localGet(a),
    op.v128Load,
    op.localGet(d),
    ...load(x, j),
    ...load(shift, j),
    op.f32x4Sub,
    op.f32x4Mul,
    op.f32x4Add,
    op.v128Store,
  ];
  return {
    exportName: 'gradSums',
    params: [I32, I32, I32, I32, I32, I32],
    locals: [I32, V128, I32],
    body: rowLoop(rows, j, cb, inner, [...bump(dy, cb), ...bump(x, cb)]),
  };
}

function affineDef(): FunctionDef {
  // params: x 0, a 1, b 2, out 3, rows 4, cb 5; locals: j 6
  const [x, av, bv, out, rows, cb, j] = [0, 1, 2, 3, 4, 5, 6];
  const inner = [op.localGet(out), op.localGet(j), op.i32Add, ...load(x, j), ...load(av, j), op.f32x4Mul, ...load(bv, j), op.f32x4Add, op.v128Store];
  return { exportName: 'affine', params: [I32, I32, I32, I32, I32, I32], locals: [I32], body: rowLoop(rows, j, cb, inner, [...bump(x, cb), ...bump(out, cb)]) };
}

function affine2Def(): FunctionDef {
  // params: dy 0, x 1, a 2, k 3, b 4, out 5, rows 6, cb 7; locals: j 8
  const [dy, x, av, kv, bv, out, rows, cb, j] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const inner = [
    op.localGet(out),
    op.localGet(j),
    op.i32Add,
    ...load(dy, j),
    ...load(av, j),
    op.f32x4Mul,
    ...load(x, j),
    ...load(kv, j),
    op.f32x4Mul,
    op.f32x4Add,
    ...load(bv, j),
    op.f32x4Add,
    op.v128Store,
  ];
  return {
    exportName: 'affine2',
    params: [I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [I32],
    body: rowLoop(rows, j, cb, inner, [...bump(dy, cb), ...bump(x, cb), ...bump(out, cb)]),
  };
}

function maskedCopyDef(): FunctionDef {
  // params: dy 0, x 1, out 2, bytes 3, cap 4 (f32); locals: j 5
  const [dy, x, out, bytes, cap, j] = [0, 1, 2, 3, 4, 5];
  // dy & ~((x <= 0) | (x > cap)): both comparisons are false for NaN, so NaN keeps dy.
  const body = [
    op.loop,
    op.localGet(out),
    op.localGet(j),
    op.i32Add,
    ...load(dy, j),
    ...load(x, j),
    op.f32Const(0),
    op.f32x4Splat,
    op.f32x4Le,
    ...load(x, j),
    op.localGet(cap),
    op.f32x4Splat,
    op.f32x4Gt,
    op.v128Or,
    op.v128AndNot,
    op.v128Store,
    op.localGet(j),
    op.i32Const(16),
    op.i32Add,
    op.localTee(j),
    op.localGet(bytes),
    op.i32LtU,
    op.brIf(0),
    op.end,
  ];
  return { exportName: 'maskedCopy', params: [I32, I32, I32, I32, F32], locals: [I32], body };
}

function clampDef(): FunctionDef {
  // params: x 0, out 1, bytes 2, lo 3 (f32), hi 4 (f32); locals: j 5
  const [x, out, bytes, lo, hi, j] = [0, 1, 2, 3, 4, 5];
  const body = [
    op.loop,
    op.localGet(out),
    op.localGet(j),
    op.i32Add,
    ...load(x, j),
    op.localGet(lo),
    op.f32x4Splat,
    op.f32x4Max,
    op.localGet(hi),
    op.f32x4Splat,
    op.f32x4Min,
    op.v128Store,
    op.localGet(j),
    op.i32Const(16),
    op.i32Add,
    op.localTee(j),
    op.localGet(bytes),
    op.i32LtU,
    op.brIf(0),
    op.end,
  ];
  return { exportName: 'clamp', params: [I32, I32, I32, F32, F32], locals: [I32], body };
}

function depthwiseTapsDef(k: number): FunctionDef {
  // params: x 0, dy 1, acc 2, count 3, cb 4, xStep 5; locals: j 6, px 7, pd 8, i 9, d 10 (v128),
  // a_0..a_{k-1} (v128) 11.., off_1..off_{k-1} (t * cb) after them.
  const [x, dy, acc, count, cb, xStep, j, px, pd, i, d] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const a = (t: number): number => 11 + t;
  const off = (t: number): number => 11 + k + t - 1;
  const taps = Array.from({ length: k }, (_, t) => t);
  // acc + j (+ t * cb) on the stack.
  const accAddr = (t: number): number[][] => [op.localGet(acc), op.localGet(j), op.i32Add, ...(t > 0 ? [op.localGet(off(t)), op.i32Add] : [])];
  const body: number[][] = [
    ...taps.slice(1).flatMap((t) => [op.localGet(cb), op.i32Const(t), op.i32Mul, op.localSet(off(t))]),
    op.loop,
    ...taps.flatMap((t) => [...accAddr(t), op.v128Load, op.localSet(a(t))]),
    op.localGet(x),
    op.localGet(j),
    op.i32Add,
    op.localSet(px),
    op.localGet(dy),
    op.localGet(j),
    op.i32Add,
    op.localSet(pd),
    op.localGet(count),
    op.localSet(i),
    op.block,
    op.loop,
    op.localGet(i),
    [0x45 /* i32.eqz */],
    op.brIf(1),
    op.localGet(pd),
    op.v128Load,
    op.localSet(d),
    ...taps.flatMap((t) => [
      op.localGet(a(t)),
      op.localGet(px),
      ...(t > 0 ? [op.localGet(off(t)), op.i32Add] : []),
      op.v128Load,
      op.localGet(d),
      op.f32x4Mul,
      op.f32x4Add,
      op.localSet(a(t)),
    ]),
    op.localGet(px),
    op.localGet(xStep),
    op.i32Add,
    op.localSet(px),
    op.localGet(pd),
    op.localGet(cb),
    op.i32Add,
    op.localSet(pd),
    op.localGet(i),
    op.i32Const(-1),
    op.i32Add,
    op.localSet(i),
    op.br(0),
    op.end,
    op.end,
    ...taps.flatMap((t) => [...accAddr(t), op.localGet(a(t)), op.v128Store]),
    op.localGet(j),
    op.i32Const(16),
    op.i32Add,
    op.localTee(j),
    op.localGet(cb),
    op.i32LtU,
    op.brIf(0),
    op.end,
  ];
  const locals = [I32, I32, I32, I32, V128, ...taps.map(() => V128), ...taps.slice(1).map(() => I32)];
  return { exportName: `dwTaps${k}`, params: [I32, I32, I32, I32, I32, I32], locals, body };
}

function outerProductDef(): FunctionDef {
  // params: x 0, dy 1, acc 2, rows 3, xb 4, dyb 5, xStep 6; locals: ci 7, co 8, r 9, px 10,
  // pd 11, accRow 12, pa 13, dyb2 14, dyb3 15, dyb4 16 (i32); s 17, d0 18, d1 19, a0..a7 20..27.
  const [x, dy, acc, rows, xb, dyb, xStep, ci, co, r, px, pd, accRow, pa, dyb2, dyb3, dyb4, sv, d0, d1] = Array.from({ length: 20 }, (_, i) => i);
  const a = (i: number): number => 20 + i;
  // Accumulator 2*lane + half: tile row `lane` (input channel ci + lane), columns co + 4*half.
  const rowOffset = (lane: number): number[][] => (lane === 0 ? [] : [op.localGet([0, dyb, dyb2, dyb3][lane]), op.i32Add]);
  const lanes = [0, 1, 2, 3];
  const body: number[][] = [
    op.localGet(dyb),
    op.i32Const(2),
    op.i32Mul,
    op.localSet(dyb2),
    op.localGet(dyb),
    op.i32Const(3),
    op.i32Mul,
    op.localSet(dyb3),
    op.localGet(dyb),
    op.i32Const(4),
    op.i32Mul,
    op.localSet(dyb4),
    op.localGet(acc),
    op.localSet(accRow),
    op.loop, // over input-channel tiles
    op.i32Const(0),
    op.localSet(co),
    op.loop, // over output-channel tiles
    op.localGet(accRow),
    op.localGet(co),
    op.i32Add,
    op.localSet(pa),
    ...lanes.flatMap((lane) => [0, 1].flatMap((half) => [op.localGet(pa), ...rowOffset(lane), op.v128LoadAt(16 * half), op.localSet(a(2 * lane + half))])),
    op.localGet(x),
    op.localGet(ci),
    op.i32Add,
    op.localSet(px),
    op.localGet(dy),
    op.localGet(co),
    op.i32Add,
    op.localSet(pd),
    op.localGet(rows),
    op.localSet(r),
    op.loop, // over rows
    op.localGet(pd),
    op.v128LoadAt(0),
    op.localSet(d0),
    op.localGet(pd),
    op.v128LoadAt(16),
    op.localSet(d1),
    ...lanes.flatMap((lane) => [
      op.localGet(px),
      op.load32SplatAt(4 * lane),
      op.localSet(sv),
      ...[0, 1].flatMap((half) => [
        op.localGet(a(2 * lane + half)),
        op.localGet(sv),
        op.localGet(half === 0 ? d0 : d1),
        op.f32x4Mul,
        op.f32x4Add,
        op.localSet(a(2 * lane + half)),
      ]),
    ]),
    op.localGet(px),
    op.localGet(xStep),
    op.i32Add,
    op.localSet(px),
    op.localGet(pd),
    op.localGet(dyb),
    op.i32Add,
    op.localSet(pd),
    op.localGet(r),
    op.i32Const(-1),
    op.i32Add,
    op.localTee(r),
    op.brIf(0),
    op.end,
    ...lanes.flatMap((lane) => [0, 1].flatMap((half) => [op.localGet(pa), ...rowOffset(lane), op.localGet(a(2 * lane + half)), op.v128StoreAt(16 * half)])),
    op.localGet(co),
    op.i32Const(32),
    op.i32Add,
    op.localTee(co),
    op.localGet(dyb),
    op.i32LtU,
    op.brIf(0),
    op.end,
    op.localGet(accRow),
    op.localGet(dyb4),
    op.i32Add,
    op.localSet(accRow),
    op.localGet(ci),
    op.i32Const(16),
    op.i32Add,
    op.localTee(ci),
    op.localGet(xb),
    op.i32LtU,
    op.brIf(0),
    op.end,
  ];
  const locals = [...Array.from({ length: 10 }, () => I32), ...Array.from({ length: 11 }, () => V128)];
  return { exportName: 'outerProduct', params: [I32, I32, I32, I32, I32, I32, I32], locals, body };
}

/** The Emscripten module as this file uses it (BackendWasm types it with ambient types). */
interface HeapModule {
  wasmMemory?: WebAssembly.Memory;
  HEAPF32?: Float32Array;
  /** Always there: BackendWasm itself reads and writes tensors through it. */
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

interface BuiltLoops {
  loops: SimdLoops;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

const cache = new WeakMap<object, BuiltLoops | null>();

function build(backend: BackendWasm): BuiltLoops | null {
  if (cache.has(backend)) return cache.get(backend) ?? null;
  let built: BuiltLoops | null = null;
  const memory = heapModule(backend).wasmMemory;
  if (memory) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const bytes = encodeModule(
        [momentsDef(), gradSumsDef(), affineDef(), affine2Def(), maskedCopyDef(), clampDef(), ...FUSED_TAP_WIDTHS.map(depthwiseTapsDef), outerProductDef()],
        { initial: 1, maximum: 65536, shared },
      );
      const module = new WebAssembly.Module(bytes);
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      built = { loops: instance.exports as unknown as SimdLoops, module, memory };
    } catch {
      built = null;
    }
  }
  cache.set(backend, built);
  return built;
}

/**
 * The loops bound to `backend`'s heap, or null when its memory is not reachable (the stock
 * single-threaded loader does not expose it) or the engine lacks wasm SIMD.
 */
export function simdLoops(backend: BackendWasm): SimdLoops | null {
  return build(backend)?.loops ?? null;
}

/** The compiled loops module and the heap it imports, for instances on other threads. */
export function simdLoopsModule(backend: BackendWasm): { module: WebAssembly.Module; memory: WebAssembly.Memory } | null {
  const built = build(backend);
  return built ? { module: built.module, memory: built.memory } : null;
}

export function heapModule(backend: BackendWasm): HeapModule {
  return backend.wasm as unknown as HeapModule;
}

/** Byte offset of a tensor's data in the heap. */
export function heapAddress(backend: BackendWasm, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data || data.memoryOffset == null) throw new Error('tensor has no wasm heap memory');
  // Offsets above 2 GiB come back from malloc as negative int32; the heap is 4 GiB (wasm32).
  return data.memoryOffset >>> 0;
}

/**
 * The heap's current buffer. It changes when the heap grows; the memory object always has the
 * current one, while the module's HEAP* views may lag behind in a threaded build.
 */
export function heapBuffer(backend: BackendWasm): ArrayBufferLike {
  const m = heapModule(backend);
  return (m.wasmMemory ?? m.HEAPU8).buffer;
}

/** A fresh float32 view of `length` floats at `ptr`. */
export function heapFloats(backend: BackendWasm, ptr: number, length: number): Float32Array {
  return new Float32Array(heapBuffer(backend), ptr >>> 0, length);
}
