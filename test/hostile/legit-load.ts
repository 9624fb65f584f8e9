// Starts the legitimate load (load-worker.ts) in its own process and collects its report.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadConfig, LoadResult } from './load-worker.ts';

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

export const DEFAULT_LOAD: Omit<LoadConfig, 'port'> = {
  authority: 'web:8080',
  path: '/legit',
  protocol: 'h1',
  concurrency: 4,
  intervalMs: 20,
  maxRequests: 5_000,
  maxMs: 60_000,
  timeoutMs: 5_000,
};

export interface LegitLoad {
  /** Ends the load (or waits for its bounds) and returns its report. */
  stop(): Promise<LoadResult>;
  /** Kills the process if still running (for after hooks). */
  kill(): void;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Spawns the load and resolves once its connections are warm. */
export function startLoad(config: Partial<LoadConfig> & { port: number }): Promise<LegitLoad> {
  const full: LoadConfig = { ...DEFAULT_LOAD, ...config };
  const child = spawn(process.execPath, [WORKER, JSON.stringify(full)], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    let nl = stdout.indexOf('\n');
    while (nl >= 0) {
      try {
        lines.push(JSON.parse(stdout.slice(0, nl)) as Record<string, unknown>);
      } catch {
        // not ours
      }
      stdout = stdout.slice(nl + 1);
      nl = stdout.indexOf('\n');
    }
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const event = (name: string, timeoutMs: number): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = lines.find((l) => l['event'] === name);
        if (line === undefined) return false;
        cleanup();
        resolve(line);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        child.kill('SIGKILL');
        reject(new Error(`load worker: no ${name} within ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      const onExit = (): void => {
        if (check()) return;
        cleanup();
        reject(new Error(`load worker exited before ${name}; stderr: ${stderr}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(listener);
        child.off('exit', onExit);
      };
      const listener = (): void => {
        check();
      };
      if (check()) return;
      listeners.add(listener);
      child.once('exit', onExit);
    });
  return event('ready', 20_000).then(() => ({
    async stop() {
      child.stdin?.end();
      const line = await event('result', full.timeoutMs + 10_000);
      await exited;
      const { event: _event, ...result } = line;
      return result as unknown as LoadResult;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  }));
}
