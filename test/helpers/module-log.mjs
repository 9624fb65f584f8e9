// Preloaded with --import in a child process: appends every module URL it resolves to $TRELLIS_MODULE_LOG (tests
// that check what a bin does not load).
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const log = process.env.TRELLIS_MODULE_LOG;
if (log) {
  registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      appendFileSync(log, `${resolved.url}\n`);
      return resolved;
    },
  });
}
