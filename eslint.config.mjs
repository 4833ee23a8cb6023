// ESLint for Regbench: typescript-eslint's recommended rules (syntax only, not the type-checked
// set: those need a full program per file and would triple the time of `npm run lint`).
// Formatting is Prettier's job (.prettierrc.json); no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node's globals for the plain JavaScript files (bench/, scripts/, bin/); TypeScript files leave
// undefined names to tsc (typescript-eslint's recommended set turns no-undef off for them).
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'performance',
    'fetch',
    'AbortController',
    'TextDecoder',
    'TextEncoder',
    'structuredClone',
    'queueMicrotask',
    'globalThis',
  ].map((name) => [name, 'readonly']),
);
const commonJsGlobals = { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' };

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'media/dashboard.js',
      '.regbench/**',
      '.e2e/**',
      'test-results/**',
      'scratch/**',
      '.scratch/**',
      // Fails to parse on purpose: the worker's syntax-error path is tested with it.
      'test/fixtures/variants/syntax-error.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: nodeGlobals },
    rules: {
      // `any` (an error by default) needs the house rule's comment saying why, as
      // `// eslint-disable-next-line @typescript-eslint/no-explicit-any -- why`.
      // `_name` marks an argument a signature requires but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // A template shows every argument a variant receives and the constants it may tune; the user
    // fills the body in, so names it does not use yet are the point.
    files: ['templates/**'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    // The bundles load these with require() at run time (optional native bindings, the CLI shim).
    files: ['**/*.cjs', 'bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, ...commonJsGlobals } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
