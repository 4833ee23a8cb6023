/**
 * A minimal WebAssembly binary writer: enough to build one module of functions that import a
 * memory and run SIMD loops over it. The project ships no compiler for wasm (no Emscripten, no
 * wat2wasm), and the few loops it needs are short, so they are written as instruction lists here
 * and assembled at run time (microseconds, once per process).
 */

/** Value types as the binary format numbers them. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Instructions, each as its bytes; function bodies are concatenations of these. */
export const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  f32Const: (v: number) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  end: [0x0b],
  // SIMD: prefix 0xfd, opcode as LEB128, then immediates (memarg: alignment log2, offset).
  v128Load: [0xfd, ...uleb(0x00), 2, 0],
  v128Store: [0xfd, ...uleb(0x0b), 2, 0],
  /** v128.load / v128.store / v128.load32_splat with a constant byte offset added to the address. */
  v128LoadAt: (offset: number) => [0xfd, ...uleb(0x00), 2, ...uleb(offset)],
  v128StoreAt: (offset: number) => [0xfd, ...uleb(0x0b), 2, ...uleb(offset)],
  load32SplatAt: (offset: number) => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  f32x4Splat: [0xfd, ...uleb(0x13)],
  f32x4Gt: [0xfd, ...uleb(0x44)],
  f32x4Le: [0xfd, ...uleb(0x45)],
  v128And: [0xfd, ...uleb(0x4e)],
  /** a & ~b, with a pushed first. */
  v128AndNot: [0xfd, ...uleb(0x4f)],
  v128Or: [0xfd, ...uleb(0x50)],
  /** IEEE min / max that return NaN when either operand is NaN (unlike pmin / pmax). */
  f32x4Min: [0xfd, ...uleb(0xe8)],
  f32x4Max: [0xfd, ...uleb(0xe9)],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Sub: [0xfd, ...uleb(0xe5)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
};

export interface FunctionDef {
  exportName: string;
  params: number[];
  /** Extra locals after the parameters, in order. */
  locals: number[];
  body: number[][];
}

/**
 * A module importing `env.memory` (limits in 64 KiB pages; `shared` must match the memory that
 * will be passed) and exporting `functions`, none of which returns a value.
 */
export function encodeModule(functions: FunctionDef[], memory: { initial: number; maximum: number; shared: boolean }): Uint8Array<ArrayBuffer> {
  const types = section(1, vec(functions.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0])));
  const limits = [memory.shared ? 0x03 : 0x01, ...uleb(memory.initial), ...uleb(memory.maximum)];
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]]));
  const funcs = section(3, vec(functions.map((_, i) => uleb(i))));
  const exports = section(7, vec(functions.map((f, i) => [...name(f.exportName), 0x00, ...uleb(i)])));
  const code = section(
    10,
    vec(
      functions.map((f) => {
        const locals = vec(f.locals.map((t) => [1, t]));
        const body = [...locals, ...f.body.flat(), ...op.end];
        return [...uleb(body.length), ...body];
      }),
    ),
  );
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}
