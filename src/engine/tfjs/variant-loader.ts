/**
 * Compiles a TypeScript/JavaScript variant (variant-compiler.ts: esbuild-wasm) and loads it against the worker's own
 * TensorFlow.js instance. Errors are VariantErrors that name the variant file and, where the
 * source map allows, the line in it.
 */
import * as path from 'node:path';
import * as vm from 'node:vm';
import { SourceMap } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
// Variants (and the engine) use chained ops such as `logits.softmax().mean()`.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import type { NormLayer, Variant } from './types';
import { compileVariantSource } from './variant-compiler';

export class VariantError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly column?: number,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** Modules a variant may import; everything else must be bundled from its own folder. */
const PROVIDED: Record<string, unknown> = {
  '@tensorflow/tfjs-core': tf,
  '@tensorflow/tfjs': tf,
  regbench: {},
};

export interface LoadedVariant extends Variant {
  /** Maps a stack trace of the compiled code to `file:line` in the variant source. */
  locate(err: unknown): { line?: number; column?: number };
  /** Maps a position in the compiled code (1-based line and column) to the variant source. */
  locateCompiled(line: number, column: number): { line?: number; column?: number };
  /** The file name the compiled variant runs under (stack frames and profiles show it). */
  compiledName: string;
}

interface Compiled {
  code: string;
  map: SourceMap | undefined;
}

export async function loadVariant(variantPath: string): Promise<LoadedVariant> {
  const compiledName = `${variantPath}.regbench-compiled.js`;
  const { code, map } = await compile(variantPath, compiledName);
  const locateCompiled = (line: number, column: number): { line?: number; column?: number } => {
    if (!map) return {};
    const entry = map.findEntry(line - 1, column - 1) as { originalLine?: number; originalColumn?: number };
    if (entry.originalLine === undefined) return {};
    return { line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
  };
  const locate = (e: unknown): { line?: number; column?: number } => {
    const stack = e instanceof Error ? (e.stack ?? '') : '';
    const escaped = compiledName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(stack);
    return m ? locateCompiled(Number(m[1]), Number(m[2])) : {};
  };
  const exp = evaluate(variantPath, compiledName, code, locate);
  return { ...checkExports(variantPath, exp), locate, locateCompiled, compiledName };
}

/** Bundles the variant (and its own imports) with esbuild-wasm; a compile error names file:line:column. */
async function compile(variantPath: string, compiledName: string): Promise<Compiled> {
  try {
    const { code, map } = await compileVariantSource(variantPath, compiledName, Object.keys(PROVIDED));
    return { code, map: map ? new SourceMap(JSON.parse(map) as ConstructorParameters<typeof SourceMap>[0]) : undefined };
  } catch (err) {
    const failure = err as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number; lineText: string } | null }> };
    const first = failure.errors?.[0];
    if (first) {
      const loc = first.location;
      const file = loc ? path.resolve(loc.file) : variantPath;
      const where = loc ? `${file}:${loc.line}:${loc.column + 1}` : file;
      throw new VariantError(`${where}: ${first.text}`, file, loc?.line, loc ? loc.column + 1 : undefined);
    }
    throw new VariantError(`${variantPath}: ${(err as Error).message}`, variantPath);
  }
}

/** Runs the compiled module against the worker's TensorFlow.js; returns its exports. */
function evaluate(variantPath: string, compiledName: string, code: string, locate: LoadedVariant['locate']): Record<string, unknown> {
  const moduleObj: { exports: Record<string, unknown> } = { exports: {} };
  const requireShim = (name: string): unknown => {
    if (name in PROVIDED) return PROVIDED[name];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the variant names the built-in at run time
    if (name.startsWith('node:') || isBuiltin(name)) return require(name);
    throw new Error(`${variantPath}: cannot import '${name}' (a variant may import @tensorflow/tfjs-core, node built-ins and its own files)`);
  };
  try {
    const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, { filename: compiledName });
    (wrapper as (...a: unknown[]) => void)(moduleObj.exports, requireShim, moduleObj, variantPath, path.dirname(variantPath));
  } catch (err) {
    const loc = locate(err);
    throw new VariantError(
      `${variantPath}${loc.line ? `:${loc.line}` : ''}: error while loading the variant: ${(err as Error).message}`,
      variantPath,
      loc.line,
      loc.column,
      (err as Error).stack,
    );
  }
  return moduleObj.exports;
}

function checkExports(variantPath: string, exp: Record<string, unknown>): Variant {
  const reg = exp.computeRegularization;
  const norm = exp.CustomNorm;
  if (reg !== undefined && typeof reg !== 'function') throw new VariantError(`${variantPath}: 'computeRegularization' must be a function`, variantPath);
  if (norm !== undefined && typeof norm !== 'function') throw new VariantError(`${variantPath}: 'CustomNorm' must be a class`, variantPath);
  if (reg === undefined && norm === undefined) {
    throw new VariantError(`${variantPath}: exports neither 'computeRegularization' nor 'CustomNorm'; export at least one`, variantPath);
  }
  return {
    path: variantPath,
    computeRegularization: reg as Variant['computeRegularization'],
    CustomNorm: norm as (new (numFeatures: number) => NormLayer) | undefined,
  };
}

function isBuiltin(name: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { builtinModules } = require('node:module') as typeof import('node:module');
  return builtinModules.includes(name);
}
