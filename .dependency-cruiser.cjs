/**
 * The layers of Regbench, checked by test/layers.test.ts (npm test):
 * - src/protocol/: contracts only; imports nothing outside itself.
 * - src/engine/: engines only (tfjs, pytorch, data, parity); knows nothing of runs, CLI or editor.
 * The wings of a run (none knows the editor, the CLI or TensorFlow.js):
 * - src/runs/: a run's life (store, record, request, runner, queue, watchdog, slurm/); imports
 *   no other wing.
 * - src/variants/: variant files and templates; may use the life of a run.
 * - src/analysis/: statistics, groups, held-out rule, results tables; may use life and variants.
 * - src/present/: text, labels and dashboard payloads; may use every other wing.
 * - src/races/: races and sweeps; may use life, variants and analysis (not presentation).
 * - src/cli/: thin; no editor.
 * - src/vscode/: thin adapters over src/runs; only extension.ts and src/vscode itself use them.
 * - webview/: browser code; contracts from src/protocol and the presentation wing only.
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
      to: { path: '^(src/(runs|variants|analysis|present|races|engine|vscode|cli)|webview)/' },
    },
    {
      name: 'engine-knows-no-runs-cli-or-editor',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^(src/(runs|variants|analysis|present|races|vscode|cli)/|src/extension\\.ts$|webview/)' },
    },
    {
      name: 'runs-knows-no-editor-or-cli',
      severity: 'error',
      from: { path: '^src/(runs|variants|analysis|present|races)/' },
      to: { path: '^(src/(vscode|cli)/|src/extension\\.ts$|webview/)|^vscode$' },
    },
    {
      name: 'life-of-a-run-knows-no-other-wing',
      comment: 'src/runs is the foundation the other wings stand on',
      severity: 'error',
      from: { path: '^src/runs/' },
      to: { path: '^src/(variants|analysis|present|races)/' },
    },
    {
      name: 'variants-know-only-the-life-of-a-run',
      severity: 'error',
      from: { path: '^src/variants/' },
      to: { path: '^src/(analysis|present|races)/' },
    },
    {
      name: 'analysis-knows-no-presentation',
      severity: 'error',
      from: { path: '^src/analysis/' },
      to: { path: '^src/(present|races)/' },
    },
    {
      name: 'races-know-no-presentation',
      severity: 'error',
      from: { path: '^src/races/' },
      to: { path: '^src/present/' },
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
      to: { path: '^(src/(engine|vscode|cli|runs|variants|analysis|races)/|src/extension\\.ts$)|^vscode$', dependencyTypesNot: ['type-only'] },
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
      from: { path: '^(src/(runs|variants|analysis|present|races|vscode|cli|protocol)/|src/extension\\.ts$|webview/)' },
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
    // node_modules stays in the graph (doNotFollow keeps the cruiser out of it): excluding it hid
    // every import of a package, and with it tensorflow-only-in-the-worker, wherever node_modules is
    // a real folder rather than a link.
    exclude: { path: '^(dist|media)/' },
  },
};
