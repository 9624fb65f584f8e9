// A process's resident memory from /proc/<pid>/status (VmRSS), read once or sampled during an attack.
import { readFileSync } from 'node:fs';

/** VmRSS in MiB; NaN when the process is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface RssSampler {
  /** Stops sampling; the largest VmRSS seen (MiB). */
  stop(): number;
}

/** Samples VmRSS every `everyMs` until stopped; the peak is kept. */
export function sampleRss(pid: number, everyMs = 100): RssSampler {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    const now = rssMb(pid);
    if (!Number.isNaN(now) && (Number.isNaN(peak) || now > peak)) peak = now;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const last = rssMb(pid);
      return Number.isNaN(last) || last < peak ? peak : last;
    },
  };
}
