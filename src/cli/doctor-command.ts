/**
 * `regbench doctor`: what this machine can and cannot do, one line each, with the way out:
 * Node, the C++ compiler and Node-API headers (native builds), libtorch, the native kernels
 * (wasm+native), the torch backend (devices, and the TensorFlow.js kernels it runs through the
 * CPU backend), the wasm files, tfjs-node, the Python with PyTorch, Slurm, the datasets and
 * Chromium (end-to-end tests). Nothing is started or installed. Exit 0 (a report, not a verdict).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SOURCES } from '../engine/data/catalog';
import { findCifar } from '../engine/data/cifar';
import { findIdx } from '../engine/data/fashion-mnist';
import { searchLocations } from '../engine/data/locations';

export const DOCTOR_USAGE = 'regbench doctor [--python P] [--json]';

export interface DoctorLine {
  what: string;
  ok: boolean;
  /** What was found, or what is missing and the way out. */
  detail: string;
}

function probe(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).trim();
  } catch {
    return null;
  }
}

function compilerLine(): DoctorLine {
  for (const cxx of [process.env.CXX, 'g++', 'c++', 'clang++'].filter((c): c is string => !!c)) {
    const v = probe(cxx, ['--version']);
    if (v) return { what: 'C++ compiler', ok: true, detail: `${cxx}: ${v.split('\n')[0]}` };
  }
  return {
    what: 'C++ compiler',
    ok: false,
    detail: 'none found: install g++ (the native kernels and the torch backend are built with it; without, the wasm path is used)',
  };
}

function nodeApiLine(): DoctorLine {
  const dirs = [join(process.execPath, '..', '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  const found = dirs.find((d) => existsSync(join(d, 'node_api.h')));
  return found
    ? { what: 'Node-API headers', ok: true, detail: found }
    : { what: 'Node-API headers', ok: false, detail: 'node_api.h not found: install the Node.js headers (Debian: libnode-dev) to build the addons' };
}

function pythonLine(python: string): DoctorLine {
  const out = probe(python, [
    '-c',
    'import torch, sys; print(sys.version.split()[0], torch.__version__, int(torch.cuda.is_available()), torch.cuda.device_count())',
  ]);
  if (!out)
    return {
      what: 'Python with PyTorch',
      ok: false,
      detail: `${python} cannot import torch: install PyTorch for it, or set regbench.pythonPath / --python to a Python that has it (Python variants and regbench parity need it)`,
    };
  const [py, torch, cuda, n] = out.split(/\s+/);
  return {
    what: 'Python with PyTorch',
    ok: true,
    detail: `${python}: Python ${py}, torch ${torch}, ${cuda === '1' ? `CUDA with ${n} device(s)` : 'no CUDA (CPU only)'}`,
  };
}

function slurmLine(): DoctorLine {
  const v = probe('sbatch', ['--version']);
  return v
    ? { what: 'Slurm', ok: true, detail: `${v} (regbench submit --slurm)` }
    : { what: 'Slurm', ok: false, detail: 'sbatch not found: regbench submit --slurm needs a Slurm client (runs work locally without it)' };
}

function datasetLines(): DoctorLine[] {
  return (Object.entries(SOURCES) as Array<[string, (typeof SOURCES)[keyof typeof SOURCES]]>).map(([id, source]) => {
    for (const loc of searchLocations(source, {})) {
      try {
        const found = source.format === 'idx' ? findIdx(source, loc.dir) : findCifar(source, loc.dir);
        if (found) return { what: `dataset ${id}`, ok: true, detail: `in ${loc.dir} (${loc.origin})` };
      } catch (e) {
        return { what: `dataset ${id}`, ok: false, detail: String(e instanceof Error ? e.message : e).split('\n')[0] };
      }
    }
    return {
      what: `dataset ${id}`,
      ok: false,
      detail: `not on disk: \`regbench data fetch ${id}\` downloads it (or --data-dir DIR / REGBENCH_DATA pointing at the official files)`,
    };
  });
}

function chromiumLine(): DoctorLine {
  const found = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
  return found
    ? { what: 'Chromium (dashboard and end-to-end tests)', ok: true, detail: found }
    : {
        what: 'Chromium (dashboard and end-to-end tests)',
        ok: false,
        detail: 'not found at /usr/bin/chromium: install chromium to run the dashboard and end-to-end tests (training does not need it)',
      };
}

/** The lines about TensorFlow.js' backends (loads TensorFlow.js into this process). */
async function backendLines(python: string | undefined): Promise<DoctorLine[]> {
  const { nativeStatus } = await import('../engine/tfjs/native/index');
  const { torchAddon, torchKernelCoverage, gpuName } = await import('../engine/tfjs/torch/index');
  const lines: DoctorLine[] = [];
  const native = nativeStatus();
  lines.push(
    native.available
      ? {
          what: "backend 'wasm+native'",
          ok: true,
          detail: `native kernels over libtorch ${native.libtorch}${native.onednn ? `, convolutions on oneDNN ${native.onednn}` : ''}`,
        }
      : { what: "backend 'wasm+native'", ok: false, detail: `${native.reason}; the pure wasm path is used` },
  );
  const { addon, reason } = torchAddon(python);
  if (!addon) {
    lines.push({
      what: "backend 'torch'",
      ok: false,
      detail: `${reason}; install libtorch-dev, or PyTorch with regbench.pythonPath pointing at its Python, plus g++, then \`npm run build\` (or a first run builds it)`,
    });
    return lines;
  }
  const info = addon.info();
  lines.push({ what: "backend 'torch'", ok: true, detail: `libtorch ${info.libtorch}, ${info.threads} CPU thread(s)` });
  lines.push({ what: 'device cpu', ok: true, detail: '--device cpu' });
  if (info.cudaDevices > 0) {
    for (let i = 0; i < info.cudaDevices; i++) lines.push({ what: `device cuda:${i}`, ok: true, detail: gpuName(i) ?? 'CUDA device' });
  } else {
    lines.push({
      what: 'device cuda',
      ok: false,
      detail: 'this libtorch has no CUDA device: --device cuda needs an NVIDIA GPU and a PyTorch built with CUDA (set regbench.pythonPath to its Python)',
    });
  }
  const { native: onTorch, fallback } = torchKernelCoverage(addon);
  lines.push({ what: 'torch kernels in libtorch', ok: true, detail: `${onTorch.length}` });
  lines.push({
    what: 'torch kernels through the CPU backend',
    ok: fallback.length === 0,
    detail: `${fallback.length} (inputs and outputs copied; slow where a variant uses them): ${fallback.join(', ')}`,
  });
  return lines;
}

export async function runDoctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { python: { type: 'string' }, json: { type: 'boolean', default: false }, workspace: { type: 'string' } },
  });
  const python = values.python ?? process.env.REGBENCH_PYTHON;
  const major = Number(process.versions.node.split('.')[0]);
  const lines: DoctorLine[] = [
    { what: 'Node.js', ok: major >= 20, detail: major >= 20 ? process.versions.node : `${process.versions.node}: Regbench needs Node 20 or later` },
    compilerLine(),
    nodeApiLine(),
    ...(await backendLines(python)),
    pythonLine(python ?? 'python3'),
    slurmLine(),
    ...datasetLines(),
    chromiumLine(),
  ];
  if (values.json) {
    for (const l of lines) process.stdout.write(JSON.stringify(l) + '\n');
    return 0;
  }
  for (const l of lines) process.stdout.write(`${l.ok ? 'ok  ' : 'no  '} ${l.what}: ${l.detail}\n`);
  return 0;
}
