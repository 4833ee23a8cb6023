/**
 * The native kernels under AddressSanitizer + UndefinedBehaviorSanitizer, so that a kernel that
 * reads or writes outside its tensors (or hits undefined behaviour) fails a test:
 *
 * - the sanitizer build (`node scripts/build-native.mjs --sanitize`: -fsanitize=address,undefined,
 *   every report fatal, -Wall -Wextra -Werror, so a compiler warning fails here too) is made into
 *   a folder of this test's own (cached per user like the release build);
 * - test/native-kernels.test.ts (its bounds checks included) runs in a child Node with that build,
 *   libasan preloaded (ASan must come first in a process whose node binary is not instrumented)
 *   and leak detection off (Node's own allocations at exit are not ours); it must pass with no
 *   sanitizer report, and with the sanitizer build loaded (REGBENCH_EXPECT_SANITIZERS=1);
 * - each sanitizer is shown to be active: the build's probe reads past a heap block and overflows
 *   a signed int, and the child must die with ASan's and UBSan's report.
 *
 * Runs where the addon is expected (test/native-expected.ts); elsewhere it is skipped with the reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeExpectation } from './native-expected';

const root = join(__dirname, '..', '..');
const expectation = nativeExpectation();
const SANITIZER_REPORT = /ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|UndefinedBehaviorSanitizer/;

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

describe(
  'native kernels under AddressSanitizer + UndefinedBehaviorSanitizer',
  { skip: expectation.expected ? false : `the addon is not expected here: ${expectation.why}` },
  () => {
    let tmp = '';
    let addon = '';
    let env: NodeJS.ProcessEnv = {};

    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'regbench-sanitize-'));
      // The first build takes minutes on a loaded machine; later ones copy the cached build.
      const built = await run([join(root, 'scripts', 'build-native.mjs'), '--sanitize', '--dist', tmp], process.env, 15 * 60_000);
      addon = join(tmp, 'native', 'regbench_kernels.node');
      assert.ok(existsSync(addon), `the sanitizer build (with -Werror) failed: ${built.out.trim()}`);
      const libasan = spawnSync('g++', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
      assert.ok(
        libasan.startsWith('/') && existsSync(libasan),
        `g++ -print-file-name=libasan.so gave '${libasan}': install libasan (Debian: part of libgcc-<n>-dev)`,
      );
      env = { ...process.env };
      // Set by the test runner for its own children; the child here is a test run of its own.
      delete env.NODE_TEST_CONTEXT;
      env = {
        ...env,
        LD_PRELOAD: realpathSync(libasan),
        ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0:halt_on_error=1',
        UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
        REGBENCH_NATIVE_ADDON: addon,
        REGBENCH_EXPECT_NATIVE: '1',
        REGBENCH_EXPECT_SANITIZERS: '1',
        OMP_WAIT_POLICY: 'PASSIVE',
      };
    });

    test('test/native-kernels.test.ts passes on the sanitizer build with no sanitizer report', async () => {
      const r = await run(['--test', join(root, 'dist', 'test', 'native-kernels.test.js')], env, 10 * 60_000);
      const report = r.out.split('\n').find((l) => SANITIZER_REPORT.test(l));
      assert.equal(report, undefined, `sanitizer report:\n${r.out.slice(-4000)}`);
      assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}:\n${r.out.slice(-4000)}`);
      assert.match(r.out, /# fail 0/);
      const loaded = r.out.split('\n').find((l) => /^(not )?ok \d+ - the sanitizer build is the one loaded where it is asked for/.test(l)) ?? '';
      assert.ok(/^ok \d+/.test(loaded) && !loaded.includes('# SKIP'), `the child loaded the sanitizer build (a passed test, not skipped): '${loaded}'`);
      const passed = Number((r.out.match(/# pass (\d+)/) ?? [])[1]);
      assert.ok(passed >= 20, `only ${passed} tests passed:\n${r.out.slice(-2000)}`);
    });

    for (const [kind, expected] of [
      ['address', /ERROR: AddressSanitizer: heap-buffer-overflow/],
      ['undefined', /runtime error: signed integer overflow/],
    ] as const) {
      test(`the build's ${kind} sanitizer is active: its probe is reported and ends the process`, async () => {
        const probe = `const a = require(${JSON.stringify(addon)}); a.sanitizerProbe(${JSON.stringify(kind)}); console.log('probe survived')`;
        const r = await run(['-e', probe], env, 120_000);
        assert.match(r.out, expected, `no ${kind} sanitizer report:\n${r.out.slice(-2000)}`);
        assert.notEqual(r.code, 0, 'the report ends the process');
        assert.doesNotMatch(r.out, /probe survived/);
      });
    }

    after(() => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });
  },
);
