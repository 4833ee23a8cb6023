// Builds the native training kernels (native/regbench_kernels.cc, a Node-API addon over libtorch)
// into dist/native/regbench_kernels.node. Called by scripts/build.mjs; also runs alone
// (`node scripts/build-native.mjs [--sanitize] [--dist DIR]`). Never fails the build: where no
// C++ compiler, no Node-API header or no libtorch is found it prints one line and the wasm
// kernels are used.
//
// libtorch, first found wins: $REGBENCH_LIBTORCH (a directory with include/ and lib/), Debian's
// libtorch-dev (/usr/include/torch, /usr/lib/<multiarch>/libtorch_cpu.so), then pip's torch
// (`python3 -c 'import torch'`: <site-packages>/torch/include and lib). The addon records the
// library directory as its rpath. Where libtorch links the shared libdnnl and oneDNN's headers
// are installed (Debian: libdnnl-dev), the convolutions are compiled on oneDNN directly
// (native/dnnl_conv.h); otherwise they go through libtorch. Warnings are on (-Wall -Wextra; the
// libraries' headers are system headers) and reported in the build line.
//
// The compiled addon is cached by a hash of the sources in native/, the flags and the library in
// the per-user cache (src/engine/private-cache.ts: ~/.cache/regbench/native, created 0700), so a
// rebuild without changes only copies it. The cache folder and the cached file are checked
// (owned by this user, writable by nobody else, no symbolic link) before the file is copied into
// dist; where a check fails the build line says what to fix and the wasm kernels are used.
//
// --sanitize (or REGBENCH_NATIVE_SANITIZE=1): the test build, with AddressSanitizer and
// UndefinedBehaviorSanitizer (-fsanitize=address,undefined, every report fatal) and -Werror,
// cached under its own name. It loads only into a process that preloads libasan
// (test/native-sanitizer.test.ts); `--dist DIR` puts it into DIR/native instead of dist/native.
//
// REGBENCH_NATIVE=0 skips the native build.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ADDON = 'regbench_kernels.node';

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function findCompiler() {
  for (const cxx of [process.env.CXX, 'g++', 'c++', 'clang++'].filter(Boolean)) {
    try {
      run(cxx, ['--version']);
      return cxx;
    } catch {
      // try the next one
    }
  }
  return null;
}

function findNodeApiHeaders() {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  return candidates.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

function libtorchAt(include, lib, source, cxx11abi) {
  if (!existsSync(join(include, 'ATen', 'ATen.h')) || !existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  let version = 'unknown';
  const versionHeader = join(include, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  if (existsSync(versionHeader)) {
    const h = readFileSync(versionHeader, 'utf8');
    const part = (name) => (h.match(new RegExp(`#define TORCH_VERSION_${name} (\\d+)`)) ?? [])[1];
    if (part('MAJOR')) version = `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  }
  return { include, lib, source, version, cxx11abi };
}

function findLibtorch() {
  const env = process.env.REGBENCH_LIBTORCH;
  if (env) {
    const t = libtorchAt(join(env, 'include'), join(env, 'lib'), `$REGBENCH_LIBTORCH (${env})`, null);
    if (t) return t;
  }
  // Debian / Ubuntu libtorch-dev.
  let multiarch = 'x86_64-linux-gnu';
  try {
    multiarch = run('gcc', ['-print-multiarch']) || multiarch;
  } catch {
    // keep the default
  }
  for (const lib of [join('/usr/lib', multiarch), '/usr/lib', '/usr/local/lib']) {
    const t = libtorchAt('/usr/include', lib, 'libtorch-dev', null);
    if (t) return t;
  }
  // pip's torch.
  for (const py of [process.env.REGBENCH_PYTHON, 'python3', 'python'].filter(Boolean)) {
    try {
      const out = run(py, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__)); print(int(torch.compiled_with_cxx11_abi()))']).split('\n');
      const dir = out[out.length - 2];
      const t = libtorchAt(join(dir, 'include'), join(dir, 'lib'), `pip torch (${dir})`, out[out.length - 1] === '1');
      if (t) return t;
    } catch {
      // no torch for this interpreter
    }
  }
  return null;
}

/**
 * oneDNN for the convolutions (native/dnnl_conv.h), used only where libtorch itself links the
 * shared libdnnl (Debian's libtorch-dev does; pip's torch carries its own copy inside
 * libtorch_cpu.so, and a second oneDNN in the process could clash) and its headers are installed
 * (Debian: libdnnl-dev). Returns the library's directory and the header version, or null.
 */
function findOneDnn(torch) {
  let deps;
  try {
    deps = run('ldd', [join(torch.lib, 'libtorch_cpu.so')]);
  } catch {
    return null;
  }
  const linked = deps.match(/libdnnl\.so\.(\d+) => (\S+)/);
  if (!linked) return null;
  for (const include of [torch.include, '/usr/include', '/usr/local/include']) {
    const versionHeader = join(include, 'oneapi', 'dnnl', 'dnnl_version.h');
    if (!existsSync(join(include, 'oneapi', 'dnnl', 'dnnl.hpp')) || !existsSync(versionHeader)) continue;
    const h = readFileSync(versionHeader, 'utf8');
    const part = (name) => (h.match(new RegExp(`#define DNNL_VERSION_${name} (\\d+)`)) ?? [])[1];
    if (part('MAJOR') !== linked[1]) continue;
    return { include, lib: dirname(linked[2]), soname: `libdnnl.so.${linked[1]}`, version: `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}` };
  }
  return null;
}

/**
 * The per-user cache's checks (src/engine/private-cache.ts, the module the training worker uses
 * before it loads anything), compiled on the fly with esbuild so that both share one
 * implementation; it imports node: modules only.
 */
async function privateCache(root) {
  const { transformSync } = await import('esbuild');
  const { code } = transformSync(readFileSync(join(root, 'src', 'engine', 'private-cache.ts'), 'utf8'), { loader: 'ts', format: 'esm' });
  return import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
}

/** How many builds of each kind the cache keeps (worktrees and branches with other sources). */
const CACHE_KEEP = 4;

/** Removes all but the CACHE_KEEP newest `<kind>-*.node` files of the cache. */
function pruneCache(cacheDir, kind) {
  const builds = readdirSync(cacheDir)
    .filter((f) => f.startsWith(`${kind}-`) && f.endsWith('.node'))
    .map((f) => ({ f, t: statSync(join(cacheDir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of builds.slice(CACHE_KEEP)) rmSync(join(cacheDir, f), { force: true });
}

/**
 * Builds (or copies from the cache) the addon into `<dist>/native`; returns its path or null.
 * `sanitize`: the AddressSanitizer + UndefinedBehaviorSanitizer test build (see the header).
 */
export async function buildNative({ root, dist, log = console.log, sanitize = process.env.REGBENCH_NATIVE_SANITIZE === '1' } = {}) {
  root ??= join(dirname(fileURLToPath(import.meta.url)), '..');
  dist ??= join(root, 'dist');
  const kind = sanitize ? 'sanitize' : 'release';
  const skip = (why) => {
    log(`native kernels${sanitize ? ' (sanitizer build)' : ''}: skipped (${why}) — the wasm kernels will be used`);
    return null;
  };
  if (process.env.REGBENCH_NATIVE === '0') return skip('REGBENCH_NATIVE=0');
  if (process.platform !== 'linux') return skip(`not built on ${process.platform} yet`);
  const cxx = findCompiler();
  if (!cxx) return skip('no C++ compiler found; install g++');
  const napi = findNodeApiHeaders();
  if (!napi) return skip('no Node-API header node_api.h found; install the Node.js headers');
  const torch = findLibtorch();
  if (!torch) return skip("no libtorch found; install libtorch-dev or pip's torch");
  const src = join(root, 'native', 'regbench_kernels.cc');
  // The libraries' headers are system headers: their warnings are not ours to fix.
  const includes = [napi, torch.include, join(torch.include, 'torch', 'csrc', 'api', 'include')].filter((d) => existsSync(d));
  const dnnl = findOneDnn(torch);
  if (dnnl && !includes.includes(dnnl.include)) includes.push(dnnl.include);
  const flags = [
    '-std=c++17',
    '-ffp-contract=off',
    '-fPIC',
    '-shared',
    '-fopenmp',
    '-fvisibility=hidden',
    '-Wall',
    '-Wextra',
    ...(sanitize
      ? ['-O0', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-DREGBENCH_UBSAN', '-Werror']
      : ['-O3']),
    '-DNAPI_VERSION=8',
    '-DNODE_GYP_MODULE_NAME=regbench_kernels',
    `-DREGBENCH_LIBTORCH_VERSION="${torch.version}"`,
    ...(torch.cxx11abi === null ? [] : [`-D_GLIBCXX_USE_CXX11_ABI=${torch.cxx11abi ? 1 : 0}`]),
    // (/usr/include and /usr/local/include are the compiler's own; naming them again would
    // reorder its search path and break #include_next in the C++ library.)
    ...includes.filter((d) => !['/usr/include', '/usr/local/include'].includes(d)).flatMap((d) => ['-isystem', d]),
    src,
    ...(dnnl ? ['-DREGBENCH_WITH_DNNL', `-DREGBENCH_ONEDNN_VERSION="${dnnl.version}"`] : []),
    `-L${torch.lib}`,
    `-Wl,-rpath,${torch.lib}`,
    '-ltorch_cpu',
    '-lc10',
    ...(dnnl ? [`-L${dnnl.lib}`, `-l:${dnnl.soname}`] : []),
    '-o',
  ];
  const sources = readdirSync(join(root, 'native'))
    .filter((f) => /\.(cc|h)$/.test(f))
    .sort();
  const hash = createHash('sha256')
    .update(sources.map((f) => readFileSync(join(root, 'native', f), 'utf8')).join('\0'))
    .update(cxx)
    .update(JSON.stringify(flags))
    .digest('hex')
    .slice(0, 16);
  // Outside the repository (a .vsix must not carry it) and outside dist (cleaned by every build),
  // in the user's own cache, never a shared temp folder (another user could plant a build there).
  const { privateCacheDir, checkTrustedFile } = await privateCache(root);
  let cacheDir;
  try {
    cacheDir = privateCacheDir('native');
  } catch (e) {
    return skip(e.message);
  }
  const cached = join(cacheDir, `${kind}-${hash}.node`);
  const outDir = join(dist, 'native');
  const out = join(outDir, ADDON);
  mkdirSync(outDir, { recursive: true });
  // The loader refuses a folder others may write to (src/engine/tfjs/native/addon.ts), whatever the umask.
  chmodSync(outDir, 0o755);
  const libraries = `libtorch ${torch.version} from ${torch.source}${dnnl ? `, convolutions on oneDNN ${dnnl.version}` : ''}`;
  if (!existsSync(cached)) {
    const t0 = Date.now();
    const tmp = `${cached}.${process.pid}.tmp`;
    let warnings;
    try {
      const r = spawnSync(cxx, [...flags, tmp], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
      warnings = (r.stderr ?? '').split('\n').filter((l) => /warning:/.test(l));
      if (r.status !== 0) {
        const detail = (r.stderr ?? '').split('\n').find((l) => /error/.test(l)) ?? String(r.error?.message ?? `exit ${r.status}`);
        rmSync(tmp, { force: true });
        return skip(`compiling against ${torch.source} failed: ${detail.trim()}`);
      }
    } catch (e) {
      return skip(`compiling against ${torch.source} failed: ${String(e.message).split('\n')[0]}`);
    }
    // Whatever the umask: readable by all, writable by its owner only (the loader checks that).
    chmodSync(tmp, 0o755);
    renameSync(tmp, cached);
    pruneCache(cacheDir, kind);
    const warned = warnings.length ? `; ${warnings.length} compiler warning(s), the first: ${warnings[0].trim()}` : '';
    log(`native kernels: built ${ADDON}${sanitize ? ' (sanitizer build)' : ''} against ${libraries} in ${((Date.now() - t0) / 1000).toFixed(0)} s${warned}`);
  } else {
    log(`native kernels: ${ADDON}${sanitize ? ' (sanitizer build)' : ''} (${libraries}, cached build)`);
  }
  try {
    checkTrustedFile(cached);
  } catch (e) {
    return skip(e.message);
  }
  copyFileSync(cached, out);
  chmodSync(out, 0o755);
  return out;
}

/** `node scripts/build-native.mjs [--sanitize] [--dist DIR]` */
function cli(argv) {
  const distAt = argv.indexOf('--dist');
  const dist = distAt >= 0 && argv[distAt + 1] ? resolve(argv[distAt + 1]) : undefined;
  const sanitize = argv.includes('--sanitize') || process.env.REGBENCH_NATIVE_SANITIZE === '1';
  return buildNative({ dist, sanitize });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await cli(process.argv.slice(2));
