#!/usr/bin/env node
// Entry point of the `regbench` command: the bundled CLI (dist/cli.js, built by `npm run build`).
const { main } = require('../dist/cli.js');
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
