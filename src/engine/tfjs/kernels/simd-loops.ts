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
  /** out = (0 < x <= cap) ? dy : 0 over `bytes` bytes (a multiple of 16). */
  maskedCopy(dy: number, x: number, out: number, bytes: number, cap: number): void;
}

// Loop skeleton over rows: `rows` (local index) counts down to zero; `advance` moves the row
// pointers, `inner` runs over j = 0, 16, ..., cb - 16 (local `j`).
function rowLoop(rows: number, j: number, cb: number, inner: number[][], advance: number[][]): number[][] {
  return [
    op.block,
    op.loop,
    op.localGet(rows), [0x45 /* i32.eqz */], op.brIf(1),
    op.i32Const(0), op.localSet(j),
    op.loop,
    ...inner,
    op.localGet(j), op.i32Const(16), op.i32Add, op.localTee(j), op.localGet(cb), op.i32LtU, op.brIf(0),
    op.end,
    ...advance,
    op.localGet(rows), op.i32Const(-1), op.i32Add, op.localSet(rows),
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
    ...load(x, j), ...load(shift, j), op.f32x4Sub, op.localSet(v),
    op.localGet(acc), op.localGet(j), op.i32Add, op.localTee(a),
    op.localGet(a), op.v128Load, op.localGet(v), op.f32x4Add, op.v128Store,
    op.localGet(a), op.localGet(cb), op.i32Add, op.localTee(a),
    op.localGet(a), op.v128Load, op.localGet(v), op.localGet(v), op.f32x4Mul, op.f32x4Add, op.v128Store,
  ];
  return { exportName: 'moments', params: [I32, I32, I32, I32, I32], locals: [I32, V128, I32], body: rowLoop(rows, j, cb, inner, bump(x, cb)) };
}

function gradSumsDef(): FunctionDef {
  // params: dy 0, x 1, shift 2, acc 3, rows 4, cb 5; locals: j 6, d 7, a 8
  const [dy, x, shift, acc, rows, cb, j, d, a] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const inner = [
    ...load(dy, j), op.localSet(d),
    op.localGet(acc), op.localGet(j), op.i32Add, op.localTee(a),
    op.localGet(a), op.v128Load, op.localGet(d), op.f32x4Add, op.v128Store,
    op.localGet(a), op.localGet(cb), op.i32Add, op.localTee(a),
    op.localGet(a), op.v128Load, op.localGet(d), ...load(x, j), ...load(shift, j), op.f32x4Sub, op.f32x4Mul, op.f32x4Add, op.v128Store,
  ];
  return { exportName: 'gradSums', params: [I32, I32, I32, I32, I32, I32], locals: [I32, V128, I32], body: rowLoop(rows, j, cb, inner, [...bump(dy, cb), ...bump(x, cb)]) };
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
    op.localGet(out), op.localGet(j), op.i32Add,
    ...load(dy, j), ...load(av, j), op.f32x4Mul,
    ...load(x, j), ...load(kv, j), op.f32x4Mul, op.f32x4Add,
    ...load(bv, j), op.f32x4Add,
    op.v128Store,
  ];
  return { exportName: 'affine2', params: [I32, I32, I32, I32, I32, I32, I32, I32], locals: [I32], body: rowLoop(rows, j, cb, inner, [...bump(dy, cb), ...bump(x, cb), ...bump(out, cb)]) };
}

function maskedCopyDef(): FunctionDef {
  // params: dy 0, x 1, out 2, bytes 3, cap 4 (f32); locals: j 5
  const [dy, x, out, bytes, cap, j] = [0, 1, 2, 3, 4, 5];
  const body = [
    op.loop,
    op.localGet(out), op.localGet(j), op.i32Add,
    ...load(dy, j),
    ...load(x, j), op.f32Const(0), op.f32x4Splat, op.f32x4Gt,
    ...load(x, j), op.localGet(cap), op.f32x4Splat, op.f32x4Le,
    op.v128And, op.v128And,
    op.v128Store,
    op.localGet(j), op.i32Const(16), op.i32Add, op.localTee(j), op.localGet(bytes), op.i32LtU, op.brIf(0),
    op.end,
  ];
  return { exportName: 'maskedCopy', params: [I32, I32, I32, I32, F32], locals: [I32], body };
}

/** The Emscripten module as this file uses it (BackendWasm types it with ambient types). */
interface HeapModule {
  wasmMemory?: WebAssembly.Memory;
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

const cache = new WeakMap<object, SimdLoops | null>();

/**
 * The loops bound to `backend`'s heap, or null when its memory is not reachable (the stock
 * single-threaded loader does not expose it) or the engine lacks wasm SIMD.
 */
export function simdLoops(backend: BackendWasm): SimdLoops | null {
  if (cache.has(backend)) return cache.get(backend) ?? null;
  let loops: SimdLoops | null = null;
  const memory = heapModule(backend).wasmMemory;
  if (memory) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const bytes = encodeModule([momentsDef(), gradSumsDef(), affineDef(), affine2Def(), maskedCopyDef()], { initial: 1, maximum: 65536, shared });
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      loops = instance.exports as unknown as SimdLoops;
    } catch {
      loops = null;
    }
  }
  cache.set(backend, loops);
  return loops;
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

/** A fresh float32 view of `length` floats at `ptr` (the heap buffer changes when it grows). */
export function heapFloats(backend: BackendWasm, ptr: number, length: number): Float32Array {
  return new Float32Array(heapModule(backend).HEAPF32.buffer, ptr >>> 0, length);
}
