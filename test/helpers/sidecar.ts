// Runs the real trellis-sidecar bin for end-to-end tests, with free loopback ports, and talks to its admin port.
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/lib/ports.ts';
import { type Daemon, startDaemon } from './processes.ts';

export const SIDECAR_BIN = fileURLToPath(new URL('../../sidecar/bin/trellis-sidecar.js', import.meta.url));

export interface SidecarOptions {
  service: string;
  xds: string;
  appPort?: number;
  labels?: Record<string, string>;
  tcpUpstreams?: string[];
  extraArgs?: string[];
}

export interface SidecarProcess {
  daemon: Daemon;
  service: string;
  nodeId: string;
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
  admin(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

let seq = 0;

/** Starts a sidecar for `service` and resolves once it logs that it is ready. */
export async function startSidecar(opts: SidecarOptions): Promise<SidecarProcess> {
  const inboundPort = await freePort();
  const outboundPort = await freePort();
  const nodeId = `${opts.service}-${++seq}-${process.pid}`;
  const args = [
    '--xds',
    opts.xds,
    '--service',
    opts.service,
    '--node-id',
    nodeId,
    '--app-port',
    String(opts.appPort ?? (await freePort())),
    '--inbound-address',
    '127.0.0.1',
    '--inbound-port',
    String(inboundPort),
    '--outbound-port',
    String(outboundPort),
    '--admin-port',
    '0',
    '--log-level',
    'info',
  ];
  if (opts.labels)
    args.push(
      '--labels',
      Object.entries(opts.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    );
  for (const t of opts.tcpUpstreams ?? []) args.push('--tcp-upstream', t);
  args.push(...(opts.extraArgs ?? []));
  const daemon = startDaemon(SIDECAR_BIN, args);
  let line: Record<string, unknown>;
  try {
    line = await daemon.waitForLog((l) => l['msg'] === 'sidecar ready', 20_000);
  } catch (err) {
    // A sidecar that never came up is not left running behind the failed test.
    daemon.child.kill('SIGKILL');
    throw err;
  }
  const adminPort = line['adminPort'] as number;
  return {
    daemon,
    service: opts.service,
    nodeId,
    inboundPort,
    outboundPort,
    adminPort,
    admin: (path, init) => fetch(`http://127.0.0.1:${adminPort}${path}`, init),
    stop: async () => {
      await daemon.stop();
    },
  };
}
