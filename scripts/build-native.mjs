// Builds the native training kernels (native/regbench_kernels.cc, a Node-API addon over libtorch)
// into dist/native/regbench_kernels.node. Called by scripts/build.mjs; also runs alone
// (`node scripts/build-native.mjs`). Never fails the build: where no C++ compiler, no Node-API
// header or no libtorch is found it prints one line and the wasm kernels are used.
//
// libtorch, first found wins: $REGBENCH_LIBTORCH (a directory with include/ and lib/), Debian's
// libtorch-dev (/usr/include/torch, /usr/lib/<multiarch>/libtorch_cpu.so), then pip's torch
// (`python3 -c 'import torch'`: <site-packages>/torch/include and lib). The addon records the
// library directory as its rpath. Where libtorch links the shared libdnnl and oneDNN's headers
// are installed (Debian: libdnnl-dev), the convolutions are compiled on oneDNN directly
// (native/dnnl_conv.h); otherwise they go through libtorch. The compiled addon is cached in
// <tmpdir>/regbench-native-build by a hash of the sources in native/, the flags and the library,
// so a rebuild without changes only copies it.
//
// REGBENCH_NATIVE=0 skips the native build.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  let deps = '';
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

/** Builds (or copies from the cache) the addon into `<dist>/native`; returns its path or null. */
export function buildNative({ root, dist, log = console.log } = {}) {
  root ??= join(dirname(fileURLToPath(import.meta.url)), '..');
  dist ??= join(root, 'dist');
  const skip = (why) => {
    log(`native kernels: skipped (${why}) — the wasm kernels will be used`);
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
  const includes = [torch.include, join(torch.include, 'torch', 'csrc', 'api', 'include')].filter((d) => existsSync(d));
  const dnnl = findOneDnn(torch);
  if (dnnl && !includes.includes(dnnl.include)) includes.push(dnnl.include);
  const flags = [
    '-std=c++17', '-O3', '-ffp-contract=off', '-fPIC', '-shared', '-fopenmp', '-fvisibility=hidden', '-w',
    '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=regbench_kernels', `-DREGBENCH_LIBTORCH_VERSION="${torch.version}"`,
    ...(torch.cxx11abi === null ? [] : [`-D_GLIBCXX_USE_CXX11_ABI=${torch.cxx11abi ? 1 : 0}`]),
    `-I${napi}`, ...includes.map((d) => `-I${d}`),
    src,
    ...(dnnl ? ['-DREGBENCH_WITH_DNNL', `-DREGBENCH_ONEDNN_VERSION="${dnnl.version}"`] : []),
    `-L${torch.lib}`, `-Wl,-rpath,${torch.lib}`, '-ltorch_cpu', '-lc10',
    ...(dnnl ? [`-L${dnnl.lib}`, `-l:${dnnl.soname}`] : []),
    '-o',
  ];
  const sources = readdirSync(join(root, 'native')).filter((f) => /\.(cc|h)$/.test(f)).sort();
  const hash = createHash('sha256').update(sources.map((f) => readFileSync(join(root, 'native', f), 'utf8')).join('\0')).update(cxx).update(JSON.stringify(flags)).digest('hex').slice(0, 16);
  // Outside the repository (a .vsix must not carry it) and outside dist (cleaned by every build).
  const cacheDir = join(tmpdir(), 'regbench-native-build');
  const cached = join(cacheDir, `${hash}.node`);
  const outDir = join(dist, 'native');
  const out = join(outDir, ADDON);
  mkdirSync(outDir, { recursive: true });
  if (!existsSync(cached)) {
    mkdirSync(cacheDir, { recursive: true });
    const t0 = Date.now();
    const tmp = `${cached}.${process.pid}.tmp`;
    try {
      execFileSync(cxx, [...flags, tmp], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    } catch (e) {
      const detail = String(e.stderr ?? e.message).split('\n').find((l) => /error/.test(l)) ?? String(e.message).split('\n')[0];
      return skip(`compiling against ${torch.source} failed: ${detail.trim()}`);
    }
    renameSync(tmp, cached);
    // Keep only the newest build in the cache.
    for (const f of readdirSync(cacheDir)) if (f !== `${hash}.node` && f.endsWith('.node')) rmSync(join(cacheDir, f), { force: true });
    log(`native kernels: built ${ADDON} against libtorch ${torch.version} from ${torch.source}${dnnl ? `, convolutions on oneDNN ${dnnl.version}` : ''} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } else {
    log(`native kernels: ${ADDON} (libtorch ${torch.version} from ${torch.source}${dnnl ? `, oneDNN ${dnnl.version}` : ''}, cached build)`);
  }
  copyFileSync(cached, out);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) buildNative();
