/**
 * The in-host suite (test/extension-host/suite.ts) through `node scripts/test-extension-host.mjs`:
 * it runs in a real extension host (VS Code via @vscode/test-electron, else code-server's VS Code
 * server build) and every one of its cases must pass. Skipped, with the reason, only when no host
 * can be set up (code-server not installable here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { CASE_NAMES } from './extension-host/results';

const root = path.resolve(__dirname, '..', '..');

test('the in-host tests pass in a real extension host', (t) => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'test-extension-host.mjs')], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  const out = `${r.stdout}${r.stderr}`;
  const host = /^extension host: (?!unavailable|VS Code could not)(.+)$/m.exec(out)?.[1];
  if (r.status === 2) {
    const reason = /extension host: unavailable: (.+)/.exec(out)?.[1] ?? out.trim().split('\n').pop();
    console.log(`skipped: no extension host could be started: ${reason}`);
    t.skip(`no extension host: ${reason}`);
    return;
  }
  assert.ok(host, `the launcher named no host:\n${out}`);
  console.log(`extension host: ${host}`);
  const summary = /^in-host: (\d+) passed, (\d+) failed of (\d+)$/m.exec(out);
  assert.ok(summary, `no in-host summary:\n${out}`);
  assert.deepEqual([Number(summary[1]), Number(summary[2]), Number(summary[3])], [CASE_NAMES.length, 0, CASE_NAMES.length], out);
  for (const name of CASE_NAMES) assert.match(out, new RegExp(`^in-host ok: ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'm'));
  assert.equal(r.status, 0, out);
});
