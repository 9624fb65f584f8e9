// Starts Trellis for benchmarks: a control plane and sidecars pinned to CPUs, resources applied with trellisctl.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './ports.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `node args…` pinned to a CPU list (taskset), stdout piped (pino's JSON lines), stderr inherited. */
export function spawnNode(args: string[], cpus: string): ChildProcess {
  return spawn('taskset', ['-c', cpus, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** The first JSON log line of the child that passes `pred`; rejects if the child exits first. */
export function waitForLine(
  child: ChildProcess,
  pred: (l: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const line = JSON.parse(text) as Record<string, unknown>;
          if (pred(line)) {
            child.stdout?.off('data', onData);
            child.stdout?.resume();
            resolve(line);
            return;
          }
        } catch {
          // not a log line
        }
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`process exited with ${code} before it was ready`)));
  });
}

/**
 * A Service document with one port (named after its protocol); with `endpointPort`, one static endpoint on 127.0.0.1
 * (else the service's sidecars announce theirs). Documents join with `---`.
 */
export function serviceYaml(
  name: string,
  port: number,
  protocol: 'HTTP' | 'TCP' | 'GRPC' = 'HTTP',
  endpointPort?: number,
): string {
  return `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: ${name} }
spec:
  ports: [{ name: ${protocol.toLowerCase()}, port: ${port}, protocol: ${protocol} }]
${endpointPort === undefined ? '' : `  endpoints: [{ address: 127.0.0.1, port: ${endpointPort} }]\n`}`;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** A control plane on the given CPUs (embedded store in `dataDir`); `children` collects what to kill at the end. */
export async function startControlPlane(
  dataDir: string,
  cpus: string,
  children: ChildProcess[],
): Promise<{ api: string; xds: string; xdsInsecure: string; apply(yaml: string): void }> {
  const cp = spawnNode(
    [
      path.join(ROOT, 'control-plane/bin/trellis-control-plane.js'),
      '--data-dir',
      dataDir,
      '--xds-host',
      '127.0.0.1',
      '--xds-port',
      '0',
      // Sidecars without join tokens use the plaintext port (and announce their endpoints there).
      '--xds-insecure-port',
      '0',
      '--xds-insecure-announce',
      '--api-port',
      '0',
      '--metrics-port',
      '0',
      '--log-level',
      'info',
    ],
    cpus,
  );
  children.push(cp);
  const line = await waitForLine(cp, (l) => l['msg'] === 'control plane listening');
  const api = `127.0.0.1:${line['apiPort'] as number}`;
  return {
    api,
    xds: `127.0.0.1:${line['xdsPort'] as number}`,
    xdsInsecure: `127.0.0.1:${line['xdsInsecurePort'] as number}`,
    apply(yaml: string): void {
      execFileSync(
        process.execPath,
        [path.join(ROOT, 'control-plane/bin/trellisctl.js'), '--api', api, 'apply', '-f', '-'],
        {
          input: yaml,
        },
      );
    },
  };
}

export interface BenchSidecar {
  outboundPort: number;
  inboundPort: number;
  child: ChildProcess;
}

/**
 * A sidecar of `service` (its app on appPort) on the given CPUs; resolves once the listener that `waitFor` names is
 * bound. `root` runs another checkout's sidecar (an A/B).
 */
export async function startSidecar(opts: {
  xds: string;
  service: string;
  cpus: string;
  children: ChildProcess[];
  appPort?: number;
  waitFor?: 'outbound' | 'inbound';
  extra?: string[];
  nodeArgs?: string[];
  root?: string;
}): Promise<BenchSidecar> {
  const outboundPort = await freePort();
  const inboundPort = await freePort();
  const child = spawnNode(
    [
      ...(opts.nodeArgs ?? []),
      path.join(opts.root ?? ROOT, 'sidecar/bin/trellis-sidecar.js'),
      '--xds',
      opts.xds,
      '--service',
      opts.service,
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
      'warn',
      ...(opts.extra ?? []),
    ],
    opts.cpus,
  );
  opts.children.push(child);
  child.stdout?.resume();
  await waitForPort(opts.waitFor === 'inbound' ? inboundPort : outboundPort);
  return { outboundPort, inboundPort, child };
}
