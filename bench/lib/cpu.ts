// CPU time used by a process (user + system, from /proc/<pid>/stat), to report proxy CPU µs per request.
import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc times (USER_HZ; 100 on Linux x86_64 and arm64). */
const TICKS_PER_SECOND = 100;

/** CPU microseconds consumed so far by pid and its threads. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) / TICKS_PER_SECOND) * 1e6;
}

/** CPU microseconds of several processes (e.g. an nginx master and its worker). */
export function cpuMicrosOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
}

/**
 * Waits until the processes are idle (under 5 ms of CPU per 100 ms), at most maxMs: work a proxy keeps doing after
 * its load stopped (a tracer exporting its queue) is counted as its own and does not spill into the next run.
 */
export async function settle(pids: readonly number[], maxMs = 10_000): Promise<void> {
  if (pids.length === 0) return;
  const deadline = Date.now() + maxMs;
  let last = cpuMicrosOf(pids);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = cpuMicrosOf(pids);
    if (now - last < 5_000) return;
    last = now;
  }
}
