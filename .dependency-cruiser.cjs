/**
 * The layers of Regbench, checked by test/layers.test.ts (npm test):
 * - src/protocol/: contracts only; imports nothing outside itself.
 * - src/engine/: engines only (tfjs, pytorch, data, parity); knows nothing of runs, CLI or editor.
 * - src/runs/: a run's life; no editor, no CLI, no TensorFlow.js.
 * - src/cli/: thin; no editor.
 * - src/vscode/: thin adapters over src/runs; only extension.ts and src/vscode itself use them.
 * - webview/: browser code; contracts from src/protocol and pure helpers from src/runs only.
 * TensorFlow.js loads in the training worker only, never in the extension host or the CLI.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'protocol-is-contracts-only',
      comment: 'src/protocol holds contracts and protocol data; it imports nothing from the rest of the code',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { pathNot: '^src/protocol/', dependencyTypesNot: ['core', 'type-only'] },
    },
    {
      name: 'protocol-types-only-from-protocol',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { path: '^(src/(runs|engine|vscode|cli)|webview)/' },
    },
    {
      name: 'engine-knows-no-runs-cli-or-editor',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^(src/(runs|vscode|cli)/|src/extension\\.ts$|webview/)' },
    },
    {
      name: 'runs-knows-no-editor-or-cli',
      severity: 'error',
      from: { path: '^src/runs/' },
      to: { path: '^(src/(vscode|cli)/|src/extension\\.ts$|webview/)|^vscode$' },
    },
    {
      name: 'cli-knows-no-editor',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^(src/vscode/|src/extension\\.ts$|webview/)|^vscode$' },
    },
    {
      name: 'only-the-extension-uses-the-editor-adapters',
      severity: 'error',
      from: { pathNot: '^(src/vscode/|src/extension\\.ts$|test/)' },
      to: { path: '^src/vscode/' },
    },
    {
      name: 'webview-is-browser-code',
      severity: 'error',
      from: { path: '^webview/' },
      to: { path: '^(src/(engine|vscode|cli)/|src/extension\\.ts$)|^vscode$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'webview-no-node-builtins',
      severity: 'error',
      from: { path: '^webview/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'tensorflow-only-in-the-worker',
      comment: 'TensorFlow.js never loads in the extension host, the CLI or the run machinery',
      severity: 'error',
      from: { path: '^(src/(runs|vscode|cli|protocol)/|src/extension\\.ts$|webview/)' },
      to: { path: '@tensorflow/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      from: { path: '^(src|webview)/' },
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules|media)/' },
  },
};
