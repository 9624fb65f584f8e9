#!/usr/bin/env node
// Entry point of the trellis-agent bin: certificate files for proxyless gRPC (the TypeScript sources run on Node 26).
import { main } from '../src/agent/main.ts';

main(process.argv).catch((err) => {
  process.stderr.write(`trellis-agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
