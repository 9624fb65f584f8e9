// Access log outputs by path: one buffered asynchronous writer per path (pino's SonicBoom destination: lines written
// while a write is in flight are coalesced into the next one), shared by every listener logging there, reopened for
// log rotation (SIGUSR1) and flushed on close.
import { dirname } from 'node:path';
import pino from 'pino';

/** What a listener's access log writes to. */
export interface LineSink {
  write(line: string): void;
}

type Destination = ReturnType<typeof pino.destination>;

const STREAM_FDS: Readonly<Record<string, number>> = { '/dev/stdout': 1, '/dev/stderr': 2 };

export class LogWriters {
  private readonly byPath = new Map<string, Destination>();
  private readonly onError: (path: string, err: Error) => void;

  constructor(onError: (path: string, err: Error) => void) {
    this.onError = onError;
  }

  /** The writer of `path` ('/dev/stdout' and '/dev/stderr' write to the process's own streams); opened on first use. */
  get(path: string): LineSink {
    let dest = this.byPath.get(path);
    if (dest === undefined) {
      const fd = STREAM_FDS[path];
      dest =
        fd === undefined
          ? pino.destination({ dest: path, sync: false, minLength: 0, mkdir: dirname(path) !== '.' })
          : pino.destination({ dest: fd, sync: false, minLength: 0 });
      dest.on('error', (err: Error) => this.onError(path, err));
      this.byPath.set(path, dest);
    }
    return dest;
  }

  /** Reopens every file (after logrotate moved it); streams are left alone. */
  reopen(): void {
    for (const [path, dest] of this.byPath) if (STREAM_FDS[path] === undefined) dest.reopen();
  }

  /** Flushes everything written so far and closes the files. */
  async close(): Promise<void> {
    const all = [...this.byPath];
    this.byPath.clear();
    await Promise.all(all.map(([path, dest]) => closeOne(dest, STREAM_FDS[path] !== undefined)));
  }
}

function closeOne(dest: Destination, isStream: boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => resolve();
    if (isStream) {
      try {
        dest.flushSync();
      } catch {
        // A write still in flight: it completes on its own; the process streams stay open.
      }
      done();
      return;
    }
    dest.once('close', done);
    dest.once('error', done);
    dest.end();
  });
}
