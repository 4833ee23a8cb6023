#!/usr/bin/env node
// Entry point of the `regbench` command: the bundled CLI.
require('../dist/cli.js');
