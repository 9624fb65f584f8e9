#!/usr/bin/env node
// Entry point of the trellisctl bin: the compiled JavaScript (dist/, built by `npm ci`'s prepare step), or the
// TypeScript sources under the trellis-source condition (the tests).
import { runCli } from '@trellis/control-plane/cli/main.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
