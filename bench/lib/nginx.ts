// Starts nginx instances for the benchmark: a static upstream and a keep-alive reverse proxy, one worker each.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitForPort } from './ports.ts';

export interface NginxInstance {
  port: number;
  /** Master and worker pids (the worker does the work; both are counted for CPU). */
  pids(): number[];
  stop(): Promise<void>;
}

function common(dir: string): string {
  return `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
`;
}

function start(dir: string, conf: string, port: number, cpus: string): Promise<NginxInstance> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const child: ChildProcess = spawn('taskset', ['-c', cpus, 'nginx', '-c', file, '-p', dir], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return waitForPort(port).then(() => ({
    port,
    pids() {
      const master = Number(readFileSync(path.join(dir, 'nginx.pid'), 'utf8').trim());
      const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
      return [master, ...children];
    },
    async stop() {
      child.kill('SIGQUIT');
      await exited;
    },
  }));
}

/** An upstream answering every request with a small 200 body. */
export function startNginxUpstream(dir: string, port: number, cpus: string): Promise<NginxInstance> {
  const conf = `${common(dir)}
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 "hello from upstream\\n"; }
  }
}
`;
  return start(dir, conf, port, cpus);
}

/** A reverse proxy to upstreamPort with a keep-alive upstream pool and raised keepalive_requests. */
export function startNginxProxy(dir: string, port: number, upstreamPort: number, cpus: string): Promise<NginxInstance> {
  const conf = `${common(dir)}
http {
  access_log off;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
  return start(dir, conf, port, cpus);
}
