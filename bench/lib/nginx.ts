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

/** The main-context lines every benchmark nginx shares (one worker, foreground, its own pid and error log). */
export function nginxCommon(dir: string): string {
  // As root, nginx's workers would run as nobody and could not read this process's files (0700 temp directories) or
  // write their cache: they run as root too. Otherwise they run as the current user anyway.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
`;
}

/** Runs nginx with `conf` in `dir` pinned to `cpus`; resolves once `port` accepts connections. */
export function startNginx(dir: string, conf: string, port: number, cpus: string): Promise<NginxInstance> {
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

/** The text /text answers: 4 KiB of a compressible page. */
export const UPSTREAM_TEXT = 'Trellis benchmark text, compressible like a page of HTML or JSON. '
  .repeat(64)
  .slice(0, 4096);

/**
 * An upstream answering every request with a small 200 body; `/text` with 4 KiB of text, `/cached/…` with a small body
 * marked `Cache-Control: max-age=600`.
 */
export function startNginxUpstream(dir: string, port: number, cpus: string): Promise<NginxInstance> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'text.txt'), UPSTREAM_TEXT);
  const conf = `${nginxCommon(dir)}
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 "hello from upstream\\n"; }
    location = /text { default_type text/plain; alias ${dir}/text.txt; }
    location /cached/ {
      default_type text/plain;
      add_header Cache-Control "max-age=600";
      return 200 "hello from upstream, cacheable\\n";
    }
  }
}
`;
  return startNginx(dir, conf, port, cpus);
}

/** What a benchmark proxy does besides proxying: gzip (level 6, as the Trellis policy), or a response cache. */
export type NginxFeature = 'plain' | 'gzip' | 'cache';

const FEATURES: Readonly<Record<NginxFeature, (dir: string) => { http: string; location: string }>> = {
  plain: () => ({ http: '', location: '' }),
  gzip: () => ({
    http: 'gzip on; gzip_types text/plain; gzip_min_length 30; gzip_comp_level 6; gzip_proxied any; gzip_vary on;',
    location: '',
  }),
  cache: (dir) => ({ http: `proxy_cache_path ${dir}/cache keys_zone=bench:10m;`, location: 'proxy_cache bench;' }),
};

/** A reverse proxy to upstreamPort with a keep-alive upstream pool and raised keepalive_requests. */
export function startNginxProxy(
  dir: string,
  port: number,
  upstreamPort: number,
  cpus: string,
  feature: NginxFeature = 'plain',
): Promise<NginxInstance> {
  const extra = FEATURES[feature](dir);
  const conf = `${nginxCommon(dir)}
http {
  access_log off;
  keepalive_requests 1000000;
  ${extra.http}
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      ${extra.location}
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
  return startNginx(dir, conf, port, cpus);
}
