/**
 * Compiles a TypeScript/JavaScript variant into one CommonJS module with esbuild's WebAssembly
 * build (esbuild-wasm), in this process: the same compiler on every platform, nothing native to
 * ship per OS and CPU, and no `node` needed on PATH (esbuild-wasm's Node API starts `node` from
 * PATH, which an editor's worker process does not have; its browser API runs the WebAssembly here).
 *
 * The browser API has no file system, so a plugin resolves and reads the variant's own files; the
 * modules the worker provides (tfjs-core, 'regbench') and Node's built-ins stay external, and a
 * package the variant imports is bundled from the node_modules next to it, as esbuild would.
 * tsconfig.json files are not read (the flags esbuild would take from them do not concern a
 * variant; the target below is fixed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { builtinModules, createRequire } from 'node:module';
import type * as Esbuild from 'esbuild-wasm';

export interface CompiledVariant {
  code: string;
  /** The external source map, as JSON text (undefined when esbuild wrote none). */
  map: string | undefined;
}

const LOADERS: Record<string, Esbuild.Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
  '.json': 'json',
};
const EXTENSIONS = Object.keys(LOADERS);

let service: Promise<typeof Esbuild> | undefined;

/**
 * Bundles `entry` (and the files it imports) into CommonJS named `outfile`, with `external`
 * left to the caller's require. Throws esbuild's failure (`errors[].location` names file:line).
 */
export async function compileVariantSource(entry: string, outfile: string, external: string[]): Promise<CompiledVariant> {
  const esbuild = await (service ??= startEsbuild());
  const result = await esbuild.build({
    entryPoints: [path.resolve(entry)],
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: 'external',
    outfile,
    absWorkingDir: process.cwd(),
    logLevel: 'silent',
    plugins: [filesPlugin(external)],
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  if (!js) throw new Error('esbuild produced no output');
  return { code: js.text, map: map?.text };
}

/**
 * Starts the compiler ahead of the first compile (its WebAssembly takes a moment to compile), so
 * that it overlaps other start-up work; a failure surfaces at the compile.
 */
export function startVariantCompiler(): void {
  (service ??= startEsbuild()).catch(() => undefined);
}

/** The folder of the esbuild-wasm package: the copy shipped beside the bundles, else the checkout's. */
export function esbuildWasmDir(): string {
  const shipped = path.join(__dirname, 'node_modules', 'esbuild-wasm');
  if (fs.existsSync(path.join(shipped, 'esbuild.wasm'))) return shipped;
  try {
    return path.dirname(createRequire(__filename).resolve('esbuild-wasm/package.json'));
  } catch {
    throw new Error(`the variant compiler (esbuild-wasm) is missing: expected ${shipped}; reinstall Regbench`);
  }
}

/**
 * Loads esbuild-wasm's browser build (lib/browser.js) with `self` bound to this realm's global:
 * its Go runtime keeps its globals in a scope of its own and only reads this realm's, so nothing is
 * added to the worker's global object (TensorFlow.js looks there to tell a browser from Node).
 */
async function startEsbuild(): Promise<typeof Esbuild> {
  const dir = esbuildWasmDir();
  const file = path.join(dir, 'lib', 'browser.js');
  const mod: { exports: Record<string, unknown> } = { exports: {} };
  const wrapper = vm.runInThisContext(`(function (module, exports, self) {${fs.readFileSync(file, 'utf8')}\n})`, { filename: file });
  (wrapper as (m: typeof mod, e: unknown, self: typeof globalThis) => void)(mod, mod.exports, globalThis);
  const esbuild = mod.exports as unknown as typeof Esbuild;
  // Compiled off the main thread: the worker loads its backend meanwhile (startVariantCompiler).
  const wasmModule = await WebAssembly.compile(await fs.promises.readFile(path.join(dir, 'esbuild.wasm')));
  await esbuild.initialize({ wasmModule, worker: false });
  return esbuild;
}

/** Resolves and reads files from disk, the part of esbuild's work the browser build leaves to plugins. */
function filesPlugin(external: string[]): Esbuild.Plugin {
  return {
    name: 'regbench-files',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        const spec = args.path;
        if (external.includes(spec) || spec.startsWith('node:') || builtinModules.includes(spec)) return { path: spec, external: true };
        const from = args.resolveDir || process.cwd();
        const found = isPathLike(spec) ? resolveFile(path.resolve(from, spec)) : resolvePackage(spec, from);
        if (!found) return { errors: [{ text: `Could not resolve "${spec}"` }] };
        return { path: found, namespace: 'file' };
      });
      build.onLoad({ filter: /.*/, namespace: 'file' }, (args) => ({
        contents: fs.readFileSync(args.path, 'utf8'),
        loader: LOADERS[path.extname(args.path)] ?? 'js',
        resolveDir: path.dirname(args.path),
      }));
    },
  };
}

function isPathLike(spec: string): boolean {
  return spec.startsWith('.') || path.isAbsolute(spec);
}

/** The file itself, with one of the extensions, a folder's index, or the .ts behind a `./x.js` import. */
function resolveFile(base: string): string | undefined {
  const candidates = [base, ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => path.join(base, `index${e}`))];
  const js = /\.([mc]?)jsx?$/.exec(base);
  if (js) candidates.push(`${base.slice(0, -js[0].length)}.${js[1]}ts`, `${base.slice(0, -js[0].length)}.tsx`);
  return candidates.find((c) => fs.statSync(c, { throwIfNoEntry: false })?.isFile());
}

/** A package from the node_modules folders above the importing file (Node's own lookup). */
function resolvePackage(spec: string, from: string): string | undefined {
  try {
    return createRequire(path.join(from, 'noop.js')).resolve(spec);
  } catch {
    return undefined;
  }
}
