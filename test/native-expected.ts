/**
 * Test helper: whether the native addon must be available here. Expected where the build can
 * make it (Linux, g++, Debian's libtorch-dev), or wherever REGBENCH_EXPECT_NATIVE=1 says so (CI);
 * REGBENCH_EXPECT_NATIVE=0 lifts the expectation (a machine whose build skipped it on purpose,
 * e.g. REGBENCH_NATIVE=0). Where it is expected, a missing addon fails the tests instead of
 * skipping them. oneDNN's convolutions are expected likewise where libdnnl-dev's header exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface NativeExpectation {
  expected: boolean;
  /** Why (shown in the assertion or in the skip reason). */
  why: string;
  /** The convolutions must run on oneDNN (libdnnl-dev installed). */
  onednn: boolean;
}

function debianLibtorch(): boolean {
  if (!existsSync('/usr/include/ATen/ATen.h')) return false;
  const libDirs = [
    '/usr/lib',
    '/usr/local/lib',
    ...(existsSync('/usr/lib')
      ? readdirSync('/usr/lib')
          .filter((d) => d.endsWith('-linux-gnu'))
          .map((d) => join('/usr/lib', d))
      : []),
  ];
  return libDirs.some((d) => existsSync(join(d, 'libtorch_cpu.so')));
}

export function nativeExpectation(env: NodeJS.ProcessEnv = process.env): NativeExpectation {
  const onednnHeaders = existsSync('/usr/include/oneapi/dnnl/dnnl.hpp');
  if (env.REGBENCH_EXPECT_NATIVE === '1') return { expected: true, why: 'REGBENCH_EXPECT_NATIVE=1', onednn: onednnHeaders };
  if (env.REGBENCH_EXPECT_NATIVE === '0') return { expected: false, why: 'REGBENCH_EXPECT_NATIVE=0', onednn: false };
  if (process.platform !== 'linux') return { expected: false, why: `the addon is not built on ${process.platform}`, onednn: false };
  if (!debianLibtorch()) return { expected: false, why: 'libtorch-dev is not installed', onednn: false };
  if (spawnSync('g++', ['--version']).status !== 0) return { expected: false, why: 'g++ is not installed', onednn: false };
  return {
    expected: true,
    why: 'g++ and libtorch-dev are installed (REGBENCH_EXPECT_NATIVE=0 if the build skipped the addon on purpose)',
    onednn: onednnHeaders,
  };
}
