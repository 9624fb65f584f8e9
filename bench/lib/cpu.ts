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
