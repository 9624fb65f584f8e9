// The processes the demo starts: spawn each with node, wait for its log lines, and stop every one of them.
import { type ChildProcess, spawn } from 'node:child_process';

/** One child process and the JSON log lines it wrote on stdout. */
export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Resolves with the first log line matching pred; rejects on exit or after timeoutMs. */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** The last lines it wrote (stdout and stderr), for error messages. */
  tail(): string;
  exited(): boolean;
}

interface Waiter {
  pred: (line: Record<string, unknown>) => boolean;
  resolve: (line: Record<string, unknown>) => void;
}

const TAIL_LINES = 20;

/** Every process the demo started, so that one call stops them all (and a crash of the demo too). */
export class ProcessGroup {
  readonly #children: Child[] = [];
  /** Set by close(): a start-up still running after a stop (Ctrl-C while starting) must not spawn more. */
  #closed = false;
  readonly #killOnExit = (): void => {
    for (const c of this.#children) if (!c.exited()) c.process.kill('SIGKILL');
  };

  constructor() {
    process.on('exit', this.#killOnExit);
  }

  /** Starts `node script ...args`; stdout lines that parse as JSON are its log lines. */
  start(name: string, script: string, args: string[], env: Record<string, string> = {}): Child {
    if (this.#closed) throw new Error(`not starting ${name}: the demo is stopping`);
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const lines: string[] = [];
    const logs: Record<string, unknown>[] = [];
    const waiters: Waiter[] = [];
    const remember = (line: string): void => {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
    };
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      let nl = out.indexOf('\n');
      while (nl >= 0) {
        const text = out.slice(0, nl);
        out = out.slice(nl + 1);
        nl = out.indexOf('\n');
        remember(text);
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (logs.length < 100) logs.push(line);
        for (const w of waiters.splice(0)) {
          if (w.pred(line)) w.resolve(line);
          else waiters.push(w);
        }
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const text of chunk.split('\n')) if (text !== '') remember(text);
    });
    let done = false;
    child.on('exit', () => {
      done = true;
    });
    const handle: Child = {
      name,
      process: child,
      pid: child.pid ?? -1,
      exited: () => done || child.exitCode !== null || child.signalCode !== null,
      tail: () => lines.join('\n'),
      waitForLog(pred, timeoutMs = 20_000) {
        const seen = logs.find(pred);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const onExit = (code: number | null, signal: string | null): void => {
            clearTimeout(timer);
            reject(new Error(`${name} exited (${signal ?? code}) while starting:\n${handle.tail()}`));
          };
          const timer = setTimeout(() => {
            child.off('exit', onExit);
            reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${handle.tail()}`));
          }, timeoutMs);
          child.once('exit', onExit);
          waiters.push({
            pred,
            resolve: (line) => {
              clearTimeout(timer);
              child.off('exit', onExit);
              resolve(line);
            },
          });
        });
      },
    };
    child.on('error', (err) => remember(`spawn error: ${err.message}`));
    this.#children.push(handle);
    return handle;
  }

  /** The children still running. */
  running(): Child[] {
    return this.#children.filter((c) => !c.exited());
  }

  /** SIGTERM to the given children (all by default), SIGKILL to any still running after graceMs. */
  async stop(children: Child[] = this.#children, graceMs = 5000): Promise<void> {
    await Promise.all(
      children.map(async (c) => {
        if (c.exited()) return;
        const exited = new Promise<void>((resolve) => c.process.once('exit', () => resolve()));
        c.process.kill('SIGTERM');
        const timer = setTimeout(() => c.process.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Stops everything; nothing more can start. The exit hook stays, for a child that outlives its SIGKILL. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.stop();
  }
}
