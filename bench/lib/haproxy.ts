// Starts HAProxy for the benchmark: a keep-alive HTTP reverse proxy or a TCP proxy, one thread, pinned like nginx.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitForPort } from './ports.ts';

export interface HaproxyInstance {
  port: number;
  pids(): number[];
  stop(): Promise<void>;
}

/** HAProxy in `mode` (http: keep-alive both sides, connections to the upstream reused; tcp: bytes) on `port`. */
export async function startHaproxy(
  dir: string,
  mode: 'http' | 'tcp',
  port: number,
  upstreamPort: number,
  cpus: string,
): Promise<HaproxyInstance> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    `global
  nbthread 1
  maxconn 8000
defaults
  mode ${mode}
  timeout connect 5s
  timeout client 60s
  timeout server 60s
${mode === 'http' ? '  option http-keep-alive\n  http-reuse always\n' : ''}frontend bench
  bind 127.0.0.1:${port}
  default_backend upstream
backend upstream
  server upstream 127.0.0.1:${upstreamPort}
`,
  );
  // Its messages (a config it refuses, an FD limit) go to haproxy.log in `dir`.
  const log = openSync(path.join(dir, 'haproxy.log'), 'w');
  const child: ChildProcess = spawn('taskset', ['-c', cpus, 'haproxy', '-f', file, '-db'], {
    stdio: ['ignore', log, log],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitForPort(port);
  return {
    port,
    // taskset execs haproxy: the child's pid is haproxy's.
    pids: () => [child.pid ?? 0],
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
