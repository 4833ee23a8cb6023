// Builds the TensorFlow.js backend over libtorch (native/torch_backend/*.cc, a Node-API addon)
// into <dist>/native/regbench_torch.node. Called by scripts/build.mjs (`npm run build`), by the
// training worker on first use where dist/ has no addon (the extension's install), and by
// bench/gpu-check.sh on a GPU machine; also runs alone:
//
//   node scripts/build-torch-backend.mjs [--out DIR] [--src DIR] [--python PY] [--quiet]
//
// Never fails the caller: where no C++ compiler, no Node-API header or no libtorch is found it
// prints one line saying what to install, and the wasm path is used.
//
// libtorch, first found wins: $REGBENCH_LIBTORCH (a directory with include/ and lib/); the user's
// PyTorch through the Python given by --python / $REGBENCH_PYTHON (the extension passes
// regbench.pythonPath), then Debian's libtorch-dev (/usr/include/torch,
// /usr/lib/<multiarch>/libtorch_cpu.so), then the PyTorch of `python3` and /usr/bin/python3
// (<site-packages>/torch/include and lib, with its C++ ABI flag). Where the library directory
// holds libtorch_cuda.so it is linked too (CUDA devices).
//
// Cache: ~/.cache/regbench/torch-backend (mode 0700; $XDG_CACHE_HOME respected), one file per
// hash of the sources, the flags, and the libtorch library's path, size and mtime, so a
// changed PyTorch install is rebuilt and an unchanged one only copied.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const TORCH_ADDON = 'regbench_torch.node';

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).trim();
}

export function findCompiler() {
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

export function findNodeApiHeaders() {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  return candidates.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

function versionIn(include) {
  const header = join(include, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  if (!existsSync(header)) return 'unknown';
  const h = readFileSync(header, 'utf8');
  const part = (name) => (h.match(new RegExp(`#define TORCH_VERSION_${name} (\\d+)`)) ?? [])[1];
  return part('MAJOR') ? `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}` : 'unknown';
}

function libtorchAt(include, lib, source, cxx11abi) {
  if (!existsSync(join(include, 'ATen', 'ATen.h')) || !existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  return { include, lib, source, version: versionIn(include), cxx11abi, cuda: existsSync(join(lib, 'libtorch_cuda.so')) };
}

function fromPython(py) {
  try {
    const out = run(py, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__)); print(int(torch.compiled_with_cxx11_abi()))']).split('\n');
    const dir = out[out.length - 2];
    return libtorchAt(join(dir, 'include'), join(dir, 'lib'), `PyTorch of ${py} (${dir})`, out[out.length - 1] === '1');
  } catch {
    return null;
  }
}

/** libtorch's include/ and lib/ (see the header for the order), or null. */
export function findLibtorch(python) {
  const env = process.env.REGBENCH_LIBTORCH;
  if (env) {
    const t = libtorchAt(join(env, 'include'), join(env, 'lib'), `$REGBENCH_LIBTORCH (${env})`, null);
    if (t) return t;
  }
  const explicit = python ?? process.env.REGBENCH_PYTHON;
  if (explicit) {
    const t = fromPython(explicit);
    if (t) return t;
  }
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
  for (const py of ['python3', '/usr/bin/python3', 'python']) {
    const t = fromPython(py);
    if (t) return t;
  }
  return null;
}

/** The per-user cache directory (0700), never the shared temp directory. */
export function cacheDir() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const dir = join(base, 'regbench', 'torch-backend');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

/**
 * Builds (or copies from the cache) the addon into `out`; returns { path, libtorch, built } or
 * { path: null, reason } with the one-line reason.
 */
export function buildTorchBackend({ src, out, python, log = console.log } = {}) {
  const here = dirname(fileURLToPath(import.meta.url));
  src ??= existsSync(join(here, '..', 'native', 'torch_backend')) ? join(here, '..', 'native', 'torch_backend') : join(here, 'src');
  out ??= join(here, '..', 'dist', 'native');
  const skip = (why) => {
    const reason = `torch backend: not built (${why}); the wasm path is used`;
    log(reason);
    return { path: null, reason };
  };
  if (process.env.REGBENCH_NATIVE === '0') return skip('REGBENCH_NATIVE=0');
  if (process.platform !== 'linux') return skip(`not built on ${process.platform} yet`);
  const cxx = findCompiler();
  if (!cxx) return skip('no C++ compiler found; install g++');
  const napi = findNodeApiHeaders();
  if (!napi) return skip('no Node-API header node_api.h found; install the Node.js headers');
  const torch = findLibtorch(python);
  if (!torch) return skip('no libtorch found; install libtorch-dev, or PyTorch and set regbench.pythonPath to its Python');
  const sources = readdirSync(src)
    .filter((f) => /\.(cc|h)$/.test(f))
    .sort();
  // /usr/include is searched already (as -isystem it would break the C++ library's #include_next).
  const includes = [torch.include, join(torch.include, 'torch', 'csrc', 'api', 'include')].filter((d) => existsSync(d) && d !== '/usr/include');
  const flags = [
    '-std=c++17',
    '-O2',
    '-fPIC',
    '-shared',
    '-fvisibility=hidden',
    '-Wall',
    '-Wextra',
    '-DNAPI_VERSION=8',
    '-DNODE_GYP_MODULE_NAME=regbench_torch',
    `-DREGBENCH_LIBTORCH_VERSION="${torch.version}"`,
    ...(torch.cxx11abi === null ? [] : [`-D_GLIBCXX_USE_CXX11_ABI=${torch.cxx11abi ? 1 : 0}`]),
    // libtorch's own headers are not ours to warn about.
    `-isystem${napi}`,
    ...includes.map((d) => `-isystem${d}`),
    ...sources.filter((f) => f.endsWith('.cc')).map((f) => join(src, f)),
    `-L${torch.lib}`,
    `-Wl,-rpath,${torch.lib}`,
    // libtorch_cuda registers the CUDA hooks when it loads; nothing references it by symbol.
    ...(torch.cuda ? ['-Wl,--no-as-needed', '-ltorch_cuda', '-Wl,--as-needed'] : []),
    '-ltorch_cpu',
    '-lc10',
    '-o',
  ];
  const lib = statSync(join(torch.lib, 'libtorch_cpu.so'));
  const hash = createHash('sha256')
    .update(sources.map((f) => readFileSync(join(src, f), 'utf8')).join('\0'))
    .update(cxx)
    .update(JSON.stringify(flags))
    .update(`${torch.lib}:${lib.size}:${lib.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  const cache = cacheDir();
  const cached = join(cache, `${hash}.node`);
  const target = join(out, TORCH_ADDON);
  mkdirSync(out, { recursive: true });
  const what = `libtorch ${torch.version} from ${torch.source}${torch.cuda ? ', with CUDA' : ''}`;
  let built = false;
  if (!existsSync(cached)) {
    const t0 = Date.now();
    const tmp = `${cached}.${process.pid}.tmp`;
    try {
      execFileSync(cxx, [...flags, tmp], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    } catch (e) {
      rmSync(tmp, { force: true });
      const detail =
        String(e.stderr ?? e.message)
          .split('\n')
          .find((l) => /error:/.test(l)) ?? String(e.message).split('\n')[0];
      return skip(`compiling against ${torch.source} failed: ${detail.trim()}`);
    }
    renameSync(tmp, cached);
    for (const f of readdirSync(cache)) if (f !== `${hash}.node` && f.endsWith('.node')) rmSync(join(cache, f), { force: true });
    log(`torch backend: built ${TORCH_ADDON} against ${what} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    built = true;
  } else {
    log(`torch backend: ${TORCH_ADDON} (${what}, cached build)`);
  }
  copyFileSync(cached, target);
  return { path: target, libtorch: torch.version, source: torch.source, cuda: torch.cuda, built };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name) => {
    const k = process.argv.indexOf(name);
    return k > 0 ? process.argv[k + 1] : undefined;
  };
  const quiet = process.argv.includes('--quiet');
  const r = buildTorchBackend({
    src: arg('--src') && resolve(arg('--src')),
    out: arg('--out') && resolve(arg('--out')),
    python: arg('--python'),
    log: quiet ? () => {} : console.log,
  });
  if (quiet) console.log(JSON.stringify(r));
}
