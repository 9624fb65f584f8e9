#!/usr/bin/env node
// Entry point of the trellis-control-plane bin: the compiled JavaScript (dist/, built by `npm ci`'s prepare step),
// or the TypeScript sources under the trellis-source condition (the tests).
import { main } from '@trellis/control-plane/main.ts';

main(process.argv).catch((err) => {
  process.stderr.write(`trellis-control-plane: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
