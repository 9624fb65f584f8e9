// The mesh under attack: a real control plane, a recording web app behind its sidecar (inbound) and a client sidecar
// (outbound), all on 127.0.0.1; processes that die are reported with their stderr and can be restarted on their ports.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../bench/lib/ports.ts';
import { BIN, type ControlPlaneProcess, run, startControlPlaneProcess } from '../helpers/processes.ts';
import { type SidecarProcess, startSidecar } from '../helpers/sidecar.ts';
import { type RecordingApp, startRecordingApp } from './hostile-apps.ts';

export const BASE_RESOURCES = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: web }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: trellis.dev/v1
kind: Service
metadata: { name: client }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  service: web
  connectionPool: { idleTimeout: 1s }
`;

/** A sidecar that can be restarted on the same ports, with its stderr kept (a crash's stack trace). */
export class ManagedSidecar {
  proc!: SidecarProcess;
  stderr = '';
  readonly service: string;
  private readonly xds: string;
  private readonly appPort: number | undefined;
  /** More flags (a join token: the sidecar holds a workload certificate and speaks mesh mTLS). */
  private readonly extraArgs: readonly string[];
  private ports: { inbound: number; outbound: number } | undefined;

  constructor(service: string, xds: string, appPort?: number, extraArgs: readonly string[] = []) {
    this.service = service;
    this.xds = xds;
    this.appPort = appPort;
    this.extraArgs = extraArgs;
  }

  async start(): Promise<void> {
    this.ports ??= { inbound: await freePort(), outbound: await freePort() };
    const opts = {
      service: this.service,
      xds: this.xds,
      // startSidecar picks its own ports first; the later flags win.
      extraArgs: [
        '--inbound-port',
        String(this.ports.inbound),
        '--outbound-port',
        String(this.ports.outbound),
        '--drain-time',
        '500ms',
        ...this.extraArgs,
      ],
    };
    this.proc = await startSidecar(this.appPort === undefined ? opts : { ...opts, appPort: this.appPort });
    this.stderr = '';
    this.proc.daemon.child.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 64 * 1024) this.stderr += d.toString();
    });
  }

  get pid(): number {
    return this.proc.daemon.child.pid as number;
  }
  get inboundPort(): number {
    return this.ports?.inbound ?? 0;
  }
  get outboundPort(): number {
    return this.ports?.outbound ?? 0;
  }
  get adminPort(): number {
    return this.proc.adminPort;
  }

  /** The exit code or signal, when the process is gone. */
  get exit(): string | undefined {
    const c = this.proc.daemon.child;
    if (c.exitCode !== null) return `exit code ${c.exitCode}`;
    if (c.signalCode !== null) return `signal ${c.signalCode}`;
    return undefined;
  }

  /** A description of the death for an assertion message, or undefined when alive. */
  death(): string | undefined {
    const exit = this.exit;
    return exit === undefined ? undefined : `${this.service} sidecar died (${exit}); stderr:\n${this.stderr}`;
  }

  async ensureUp(): Promise<void> {
    if (this.exit !== undefined) await this.start();
  }

  /** SIGTERM, then SIGKILL if it has not exited within 5 s (a stalled event loop never runs the handler). */
  async stop(): Promise<void> {
    await stopWithin(this.proc.daemon.child, this.proc.daemon.stop(), 5_000);
  }
}

async function stopWithin(
  child: { kill(s: NodeJS.Signals): boolean; exitCode: number | null; signalCode: string | null },
  stopped: Promise<unknown>,
  ms: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    stopped,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        resolve();
      }, ms);
    }),
  ]);
  clearTimeout(timer);
  await stopped;
}

export interface HostileMesh {
  cp: ControlPlaneProcess;
  cpStderr: () => string;
  web: RecordingApp;
  client: ManagedSidecar;
  webSidecar: ManagedSidecar;
  /** More sidecars started with addSidecar (stopped with the mesh). */
  extra: ManagedSidecar[];
  xds: string;
  apply(yaml: string): Promise<void>;
  ctl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  addSidecar(service: string, appPort?: number, extraArgs?: string[]): Promise<ManagedSidecar>;
  /** Restarts whatever died (so one crash does not fail the tests after it). */
  ensureUp(): Promise<void>;
  stop(): Promise<void>;
}

/** One GET through a sidecar port with a Host header; the status (0 on a connection error). */
export function get(port: number, host: string, reqPath: string, timeoutMs = 5_000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: reqPath, headers: { host }, agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Resolves once `fn` is true, polling every 100 ms; throws `what` after the deadline. */
export async function until(fn: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the control plane, the web app and the two sidecars; resolves once web answers through both hops. With
 * `mtls`, the sidecars join with tokens (workload certificates, xDS over mTLS) and talk mesh mTLS to each other.
 */
export async function startHostileMesh(resources = '', opts: { mtls?: boolean } = {}): Promise<HostileMesh> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-hostile-'));
  const cp = await startControlPlaneProcess(dataDir);
  let cpStderr = '';
  cp.daemon.child.stderr?.on('data', (d: Buffer) => {
    if (cpStderr.length < 64 * 1024) cpStderr += d.toString();
  });
  const ctl = (args: string[], input = '') => run(BIN.trellisctl, ['--api', cp.api, ...args], input, 30_000);
  const apply = async (yaml: string): Promise<void> => {
    const r = await ctl(['apply', '-f', '-'], yaml);
    if (r.code !== 0) throw new Error(`trellisctl apply failed: ${r.stderr}`);
  };
  const xds = `127.0.0.1:${opts.mtls === true ? cp.xdsPort : cp.xdsInsecurePort}`;
  const web = await startRecordingApp();
  const identity = async (service: string): Promise<string[]> => {
    if (opts.mtls !== true) return [];
    const r = await ctl(['token', 'create', '--service', service]);
    if (r.code !== 0) throw new Error(`trellisctl token create failed: ${r.stderr}`);
    return ['--join-token', r.stdout.trim()];
  };
  const client = new ManagedSidecar('client', xds, undefined, await identity('client'));
  const webSidecar = new ManagedSidecar('web', xds, web.port, await identity('web'));
  const extra: ManagedSidecar[] = [];
  try {
    await apply(BASE_RESOURCES + (resources === '' ? '' : `---\n${resources}`));
    await Promise.all([client.start(), webSidecar.start()]);
    await until(async () => (await get(client.outboundPort, 'web:8080', '/ready')) === 200, 'web through the mesh');
  } catch (err) {
    await Promise.allSettled([client.proc?.stop(), webSidecar.proc?.stop(), cp.daemon.stop(), web.close()]);
    throw err;
  }
  return {
    cp,
    cpStderr: () => cpStderr,
    web,
    client,
    webSidecar,
    extra,
    xds,
    apply,
    ctl,
    async addSidecar(service, appPort, extraArgs = []) {
      const s = new ManagedSidecar(service, xds, appPort, extraArgs);
      await s.start();
      extra.push(s);
      return s;
    },
    async ensureUp() {
      await Promise.all([client, webSidecar, ...extra].map((s) => s.ensureUp()));
    },
    async stop() {
      await Promise.allSettled([client, webSidecar, ...extra].map((s) => (s.proc ? s.stop() : undefined)));
      await stopWithin(cp.daemon.child, cp.daemon.stop(), 5_000);
      await web.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One HTTP/2 (h2c) GET through a sidecar port; the status (0 when the stream or session failed). */
export function h2Get(port: number, authority: string, reqPath: string, timeoutMs = 5_000): Promise<number> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const finish = (status: number): void => {
      clearTimeout(timer);
      session.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => finish(0), timeoutMs);
    session.on('error', () => finish(0));
    const req = session.request({ ':path': reqPath, ':authority': authority });
    let status = 0;
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('error', () => finish(0));
    req.on('close', () => finish(status));
    req.resume();
    req.end();
  });
}
