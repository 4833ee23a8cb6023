/**
 * Runs tfjs-core's own op specs (shipped in @tensorflow/tfjs-core/dist/ops/*_test.js) under
 * node:test: each spec file is read at run time, turned into CommonJS by esbuild, and evaluated
 * with its imports mapped to this bundle's tfjs-core, a small describeWithFlags/it/expect shim
 * (below) and tfjs-core's real test_util (expectArraysClose). Used by tfjs-op-specs.test.ts
 * (wasm) and tfjs-op-specs-torch.test.ts (the torch backend).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { transformSync } from 'esbuild';
import * as tf from '@tensorflow/tfjs-core';
import * as testUtil from '@tensorflow/tfjs-core/dist/test_util';
// Tensor methods (x.conv2d, x.mul) the specs call; tfjs-core's own test set-up loads them too.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';

// ---------------------------------------------------------------------------------------------
// A jasmine subset: what tfjs-core's op spec files use.

export type SpecBody = (done?: DoneFn) => unknown;
export interface DoneFn {
  (): void;
  fail(message?: unknown): void;
}
export interface Spec {
  name: string;
  body: SpecBody;
}
export interface Suite {
  name: string;
  specs: Spec[];
  beforeEach: Array<() => unknown>;
  children: Suite[];
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b) || ArrayBuffer.isView(a) !== ArrayBuffer.isView(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function show(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (ArrayBuffer.isView(x) ? Array.from(x as unknown as ArrayLike<number>) : x));
  } catch {
    return String(v);
  }
}

/** jasmine's toThrowError(): any Error; (RegExp | string): its message; (ErrorType[, message]). */
function checkThrown(f: unknown, negate: boolean, expected: unknown[]): void {
  if (typeof f !== 'function') throw new Error('toThrowError expects a function');
  let thrown: unknown;
  let threw = false;
  try {
    (f as () => unknown)();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  const [first, second] = expected;
  let ok = threw && thrown instanceof Error;
  if (ok && typeof first === 'function') ok = thrown instanceof (first as new () => Error);
  const message = typeof first === 'function' ? second : first;
  if (ok && message instanceof RegExp) ok = message.test((thrown as Error).message);
  else if (ok && typeof message === 'string') ok = (thrown as Error).message === message;
  if (ok === negate) {
    throw new Error(
      negate
        ? `expected no error, got ${String(thrown)}`
        : `expected an error${message ? ` matching ${String(message)}` : ''}, got ${threw ? String(thrown) : 'none'}`,
    );
  }
}

function expect(actual?: unknown): Record<string, unknown> {
  const matchers = (negate: boolean): Record<string, (...args: unknown[]) => void> => {
    const check = (ok: boolean, what: string): void => {
      if (ok === negate) throw new Error(`expected ${show(actual)} ${negate ? 'not ' : ''}${what}`);
    };
    return {
      toBe: (e) => check(Object.is(actual, e), `to be ${show(e)}`),
      toEqual: (e) => check(deepEqual(actual, e), `to equal ${show(e)}`),
      toBeGreaterThan: (e) => check((actual as number) > (e as number), `to be greater than ${show(e)}`),
      toBeLessThan: (e) => check((actual as number) < (e as number), `to be less than ${show(e)}`),
      toBeCloseTo: (e, digits = 2) => check(Math.abs((actual as number) - (e as number)) < 10 ** -(digits as number) / 2, `to be close to ${show(e)}`),
      toThrowError: (...e) => checkThrown(actual, negate, e),
      toThrow: () => checkThrown(actual, negate, []),
      nothing: () => undefined,
    };
  };
  return { ...matchers(false), not: matchers(true) };
}

export interface TestEnv {
  name: string;
  backendName: string;
  isDataSync: boolean;
  flags: Record<string, unknown>;
}

/** Evaluates one spec file (`<file>_test.js` of tfjs-core's dist/ops) for `env`; returns its top-level suites. */
export function loadSpecFile(file: string, env: TestEnv): Suite[] {
  const roots: Suite[] = [];
  let current: Suite | null = null;
  const open = (name: string, body: () => void): void => {
    const suite: Suite = { name, specs: [], beforeEach: [], children: [] };
    const parent: Suite | null = current;
    if (parent) parent.children.push(suite);
    else roots.push(suite);
    current = suite;
    try {
      body();
    } finally {
      current = parent;
    }
  };
  const inSuite = (what: string): Suite => {
    if (!current) throw new Error(`${what} outside a describe in ${file}`);
    return current;
  };
  const jasmineUtil = {
    ALL_ENVS: {},
    describeWithFlags: (name: string, _constraints: unknown, tests: (env: TestEnv) => void) => open(`${name} ${env.name}`, () => tests(env)),
  };
  const globals = {
    describe: open,
    it: (name: string, body: SpecBody) => void inSuite('it').specs.push({ name, body }),
    xit: () => undefined,
    beforeEach: (f: () => unknown) => void inSuite('beforeEach').beforeEach.push(f),
    // Once, before the suite's first spec (the specs use it for jasmine settings only).
    beforeAll: (f: () => unknown) => {
      let ran = false;
      inSuite('beforeAll').beforeEach.push(() => (ran ? undefined : ((ran = true), f())));
    },
    // jasmine's global, for the settings the specs write.
    jasmine: { DEFAULT_TIMEOUT_INTERVAL: 5000 },
    expect,
  };
  const distDir = join(dirname(createRequire(__filename).resolve('@tensorflow/tfjs-core/package.json')), 'dist');
  // tfjs-core's modules a spec may import, by path inside dist/ without '.js'; any other
  // relative import (a helper spec such as ops/identity_pool_test, a utility such as
  // ops/reduce_util) is read and evaluated the same way as the spec file.
  const modules: Record<string, unknown> = { index: tf, jasmine_util: jasmineUtil, test_util: testUtil, util: tf.util };
  const names = Object.keys(globals);
  const load = (rel: string): unknown => {
    if (rel in modules) return modules[rel];
    // Resolved at run time from this bundle's place (the specs are data here, not bundled code).
    const path = join(distDir, `${rel}.js`);
    const source = readFileSync(path, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
    const { code } = transformSync(source, { format: 'cjs', loader: 'js', target: 'node20', sourcefile: path });
    const module = { exports: {} as unknown };
    modules[rel] = module.exports;
    const localRequire = (id: string): unknown => {
      if (!id.startsWith('.')) throw new Error(`${file} (${rel}) imports ${id}, which the adapter does not map`);
      return load(posix.normalize(posix.join(posix.dirname(rel), id)));
    };
    // The file's code, as CommonJS with the shim's globals as parameters.
    const evaluate = new Function('require', 'exports', 'module', ...names, code) as (...args: unknown[]) => void;
    evaluate(localRequire, module.exports, module, ...names.map((n) => globals[n as keyof typeof globals]));
    modules[rel] = module.exports;
    return module.exports;
  };
  load(`ops/${file}_test`);
  return roots;
}

/** Runs one spec as jasmine_util's executeTests does: in an engine scope, variables disposed after. */
export async function runSpec(suites: Suite[], body: SpecBody): Promise<void> {
  tf.engine().startScope();
  try {
    for (const s of suites) for (const f of s.beforeEach) await f();
    if (body.length > 0) {
      await new Promise<void>((resolve, reject) => {
        const done = (() => resolve()) as DoneFn;
        done.fail = (message?: unknown) => reject(new Error(String(message)));
        void Promise.resolve(body(done)).catch(reject);
      });
    } else {
      await body();
    }
  } finally {
    tf.engine().endScope();
    tf.engine().disposeVariables();
  }
}
