// The demo's command line: --duration, --json, --rps, --base-port, --help.
import { Command, InvalidArgumentError, Option } from 'commander';

export interface DemoOptions {
  /** Run this long after the mesh is ready, then print a summary; undefined = until Ctrl-C. */
  durationMs: number | undefined;
  json: boolean;
  rps: number;
  basePort: number | undefined;
}

/** '20s', '1m', '1m30s', '500ms'. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    end = re.lastIndex;
  }
  if (end === 0 || end !== text.length || total <= 0)
    throw new InvalidArgumentError(`expected a duration > 0 such as 20s, 1m or 1m30s, got "${text}"`);
  return Math.round(total);
}

function parseRps(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 500)
    throw new InvalidArgumentError(`expected an integer from 1 to 500, got "${text}"`);
  return n;
}

function parseBasePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1024 || n > 65000)
    throw new InvalidArgumentError(`expected a port from 1024 to 65000, got "${text}"`);
  return n;
}

export function buildProgram(): Command {
  return new Command('npm run demo --')
    .description(
      'Starts a demo mesh on 127.0.0.1: the control plane, web → orders (v1/v2) → payments (gRPC), web → inventory (TCP),\n' +
        'each app beside its own trellis-sidecar, applies demo/config/mesh.yaml with trellisctl, drives traffic at web\n' +
        'and shows it live. Ctrl-C stops every process it started.',
    )
    .addOption(
      new Option('--duration <duration>', 'stop after this long (e.g. 20s, 2m) and print a summary').argParser(
        parseDuration,
      ),
    )
    .addOption(
      new Option('--json', 'no live view: progress as JSON lines on stderr, the summary as JSON on stdout').default(
        false,
      ),
    )
    .addOption(new Option('--rps <n>', 'requests per second sent to web').argParser(parseRps).default(30))
    .addOption(
      new Option(
        '--base-port <port>',
        'use consecutive ports from this one (control plane xDS, API, metrics, then apps and sidecars) instead of free ones',
      ).argParser(parseBasePort),
    )
    .helpOption('-h, --help', 'show this help')
    .addHelpText(
      'after',
      '\nExamples:\n  npm run demo\n  npm run demo -- --duration 20s --json\n  npm run demo -- --rps 50 --base-port 18000',
    );
}

/** Parses argv (without node and the script); commander prints the error or help and exits. */
export function parseOptions(argv: string[]): DemoOptions {
  const program = buildProgram().parse(argv, { from: 'user' });
  const o = program.opts<{ duration?: number; json: boolean; rps: number; basePort?: number }>();
  return { durationMs: o.duration, json: o.json, rps: o.rps, basePort: o.basePort };
}
