#!/usr/bin/env node
// Entry point of the trellis-agent bin (certificate files and an xDS proxy for proxyless gRPC): the compiled
// JavaScript (dist/, built by `npm ci`'s prepare step), or the TypeScript sources under the trellis-source condition.
import { main } from '@trellis/sidecar/agent/main.ts';

main(process.argv).catch((err) => {
  process.stderr.write(`trellis-agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
