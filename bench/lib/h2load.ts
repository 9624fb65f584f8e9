// Runs h2load (nghttp2) against an h2c URL and parses requests/s and how many succeeded.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface H2loadResult {
  requests: number;
  rps: number;
  /** Requests that did not get a 2xx (failed, errored or timed out). */
  errors: number;
}

/** Parses h2load's summary lines. */
export function parseH2load(out: string): H2loadResult {
  const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1] ?? Number.NaN);
  const m = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const done = Number(m?.[2] ?? Number.NaN);
  // h2load's "succeeded" are the requests done with a 2xx or 3xx; failed and errored ones are among those done. (Its
  // status-code tally also counts responses after the duration ended: not comparable with "done".)
  return { requests: done, rps, errors: m === null ? Number.NaN : done - Number(m[3]) };
}

/**
 * h2load pinned to a CPU list: `connections` h2c connections with `streams` concurrent streams each, for `seconds`;
 * `data` (a file) makes every request a POST with that body; headers as 'name: value' (':authority: x' too).
 */
export async function runH2load(opts: {
  url: string;
  seconds: number;
  connections: number;
  streams: number;
  cpus: string;
  headers?: string[];
  data?: string;
}): Promise<H2loadResult> {
  const args = ['-c', opts.cpus, 'h2load', '-t1', `-c${opts.connections}`, `-m${opts.streams}`, `-D${opts.seconds}`];
  for (const h of opts.headers ?? []) args.push('-H', h);
  if (opts.data !== undefined) args.push('-d', opts.data);
  args.push(opts.url);
  const { stdout } = await exec('taskset', args, { maxBuffer: 1 << 20 });
  return parseH2load(stdout);
}
