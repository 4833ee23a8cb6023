/**
 * One rule for every test that needs a tool from outside npm (test/tools.json lists them): where
 * the tool is missing, the test is skipped with a line naming what to install, except in CI
 * (CI=true) or with REGBENCH_REQUIRE_ALL=1, where it fails with that line: CI cannot go green by
 * skipping, and a contributor without Slurm or TeX still gets a useful `npm test`.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import tools from './tools.json';

export type Tool = Exclude<keyof typeof tools, '$comment'>;

/** True in CI and with REGBENCH_REQUIRE_ALL=1: a missing tool fails its tests. */
export const REQUIRE_ALL = (Boolean(process.env.CI) && process.env.CI !== 'false') || process.env.REGBENCH_REQUIRE_ALL === '1';

/** "missing: chromium (the dashboard ...) — install it (Debian/Ubuntu: apt-get install ...; elsewhere: ...)" */
export function missingMessage(tool: Tool, detail?: string): string {
  const t = tools[tool];
  return `missing: ${tool} (${t.for})${detail ? `: ${detail}` : ''} — install it (Debian/Ubuntu: apt-get install ${t.debian.join(' ')}; elsewhere: ${t.elsewhere}; or run npm run test:all as root)`;
}

/**
 * Inside a test: true when the tool is there. Otherwise the test fails (CI, REGBENCH_REQUIRE_ALL=1)
 * or is skipped, with missingMessage; the caller returns when this returns false.
 */
export function requireTool(t: TestContext, tool: Tool, present: boolean, detail?: string): boolean {
  if (present) return true;
  const message = missingMessage(tool, detail);
  if (REQUIRE_ALL) assert.fail(`${message} [required here: CI=true or REGBENCH_REQUIRE_ALL=1]`);
  t.skip(message);
  return false;
}

/**
 * For a suite's or test's `skip` option: the reason to skip, or false when the tool is there or
 * required (then the tests run and the first of them checks with requireTool, failing with the
 * message instead of somewhere deeper).
 */
export function skipUnless(tool: Tool, present: boolean, detail?: string): string | false {
  if (present) return false;
  if (REQUIRE_ALL) return false;
  return missingMessage(tool, detail);
}
