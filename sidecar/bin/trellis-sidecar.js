#!/usr/bin/env node
// Entry point of the trellis-sidecar bin: the compiled JavaScript (dist/, built by `npm ci`'s prepare step), or the
// TypeScript sources under the trellis-source condition (the tests).
import { main } from '@trellis/sidecar/main.ts';

main(process.argv).catch((err) => {
  process.stderr.write(`trellis-sidecar: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
