// `npm run demo`: the demo mesh with a live view (see docs/tutorial.md); --help lists the flags.
import { parseOptions } from './options.ts';
import { runDemo } from './run-demo.ts';

const code = await runDemo(parseOptions(process.argv.slice(2)));
process.exitCode = code;
// Everything the demo started is stopped by now; do not let a stray handle keep the process alive.
setTimeout(() => process.exit(code), 1000).unref();
