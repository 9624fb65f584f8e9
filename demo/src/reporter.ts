// Where the demo's output goes: a live view refreshed in place on a terminal, plain text when piped, or JSON.
import { renderView, type ViewState } from './live-view.ts';
import type { Summary } from './summary.ts';

export interface Reporter {
  step(message: string): void;
  /** Addresses and process ids once the mesh is up; `admin` = each sidecar's admin port on 127.0.0.1. */
  ready(info: { api: string; xds: string; pids: Record<string, number>; admin: Record<string, number> }): void;
  tick(entry: Summary['timeline'][number]): void;
  view(state: ViewState): void;
  event(message: string): void;
  done(summary: Summary, finalView: ViewState): void;
  error(message: string): void;
}

const json = (stream: NodeJS.WriteStream, value: unknown): void => {
  stream.write(`${JSON.stringify(value)}\n`);
};

/** --json: progress lines on stderr ({"event":"step"|"ready"|"tick"|…}), the summary alone on stdout. */
export function jsonReporter(): Reporter {
  return {
    step: (message) => json(process.stderr, { event: 'step', message }),
    ready: (info) => json(process.stderr, { event: 'ready', ...info }),
    tick: (entry) => json(process.stderr, { event: 'tick', ...entry }),
    view: () => {},
    event: (message) => json(process.stderr, { event: 'action', message }),
    done: (summary) => json(process.stdout, summary),
    error: (message) => json(process.stderr, { event: 'error', message }),
  };
}

/** A terminal: steps as they happen, then the view redrawn in place every second. */
export function terminalReporter(): Reporter {
  const tty = process.stdout.isTTY === true;
  let drawn = false;
  let ticks = 0;
  return {
    step: (message) => process.stdout.write(`▸ ${message}\n`),
    ready: () => {},
    tick: () => {},
    view: (state) => {
      if (tty) {
        // Home, draw, clear the rest: no flicker, no scrollback flood.
        process.stdout.write(
          `${drawn ? '\x1b[H' : '\x1b[2J\x1b[H'}${renderView(state).replaceAll('\n', '\x1b[K\n')}\x1b[J`,
        );
        drawn = true;
      } else if (++ticks % 5 === 0) {
        process.stdout.write(`\n${renderView({ ...state, color: false })}`);
      }
    },
    event: (message) => {
      if (!tty) process.stdout.write(`${message}\n`);
    },
    done: (summary, finalView) => {
      if (tty) process.stdout.write(`\x1b[H${renderView(finalView).replaceAll('\n', '\x1b[K\n')}\x1b[J`);
      const web = summary.services.web;
      process.stdout.write(
        `\nstopped after ${summary.durationSeconds}s: ${web.requests} requests to web, ${web.failures} failed; ` +
          `orders v1 ${summary.split['v1']} / v2 ${summary.split['v2']}; ${summary.ejections.total} ejections\n`,
      );
    },
    error: (message) => process.stderr.write(`npm run demo: ${message}\n`),
  };
}
