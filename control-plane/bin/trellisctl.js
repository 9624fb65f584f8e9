#!/usr/bin/env node
// Entry point of the trellisctl bin (the TypeScript sources run directly on Node 26).
import { runCli } from '../src/cli/main.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
