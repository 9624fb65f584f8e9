#!/usr/bin/env node
// Entry point of the trellis-sidecar bin (the TypeScript sources run directly on Node 26).
import { main } from '../src/main.ts';

main(process.argv).catch((err) => {
  process.stderr.write(`trellis-sidecar: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
