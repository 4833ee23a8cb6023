// `npm run test:extension-host`: the in-host tests (test/extension-host/suite.ts) in a real
// extension host, VS Code via @vscode/test-electron where it can be downloaded, else code-server's.
// The launcher is TypeScript (test/extension-host/launch.ts), bundled by `npm run build`.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const launcher = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'test-host', 'launch.js');
if (!existsSync(launcher)) {
  console.error('extension host: dist/test-host/launch.js is missing; run npm run build first');
  process.exit(2);
}
await import(launcher);
