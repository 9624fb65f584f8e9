// A small mesh on 127.0.0.1 for end-to-end tests: the control plane, real apps, and one real sidecar per app.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type JoinTokenHints, joinTokenHints } from '@trellis/identity';
import { freePort } from '../../bench/lib/ports.ts';
import { requestCertificate } from '../../sidecar/src/tls/certificate-client.ts';
import { bootstrapCredentials, discoverControlPlaneTrust } from '../../sidecar/src/tls/control-plane-trust.ts';
import { newWorkloadKey } from '../../sidecar/src/tls/workload-key.ts';
import { type App, startHttpApp, startTcpEcho } from './apps.ts';
import { type EchoBackend, startEchoBackend } from './grpc-echo.ts';
import { BIN, type ControlPlaneProcess, run, startControlPlaneProcess } from './processes.ts';
import { type SidecarProcess, startSidecar } from './sidecar.ts';

export interface Mesh {
  cp: ControlPlaneProcess;
  dataDir: string;
  /** The xDS TLS port (sidecars with join tokens: `mtls`). */
  xdsPort: number;
  /** The plaintext xDS port (sidecars without). */
  xdsInsecurePort: number;
  apps: { webV1: App; webV2: App; tcp: App; grpc: EchoBackend };
  sidecars: {
    client: SidecarProcess;
    webV1: SidecarProcess;
    webV2: SidecarProcess;
    tcp: SidecarProcess;
    grpc: SidecarProcess;
  };
  /** Local port on the client's loopback that tunnels to the tcp-echo service. */
  tcpLocalPort: number;
  apply(yaml: string): Promise<void>;
  /**
   * A certificate from the mesh CA for `service`, as a workload gets one (join token, the control plane trusted by the
   * token's pin); `ttlSeconds` 0: the CA's default. Also the control plane's pinned root.
   */
  workloadCertificate(
    service: string,
    ttlSeconds?: number,
  ): Promise<{ keyPem: string; chain: string[]; rootPem: string }>;
  ctl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Restarts the control plane on the same data dir and port (with more flags, later ones winning). */
  restartControlPlane(extraArgs?: string[]): Promise<void>;
  stopControlPlane(): Promise<void>;
  stop(): Promise<void>;
}

export const MESH_SERVICES = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: web }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: trellis.dev/v1
kind: Service
metadata: { name: echo }
spec:
  ports: [{ name: grpc, port: 50051, protocol: GRPC }]
---
apiVersion: trellis.dev/v1
kind: Service
metadata: { name: tcp-echo }
spec:
  ports: [{ name: tcp, port: 7000, protocol: TCP }]
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
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;

export interface MeshOptions {
  /** Every sidecar gets a join token (trellisctl token create) and talks mesh mTLS. */
  mtls?: boolean;
  /** More control-plane flags (e.g. --mtls strict). */
  cpArgs?: string[];
  /** More flags for every sidecar (e.g. --workload-cert-ttl 3s). */
  sidecarArgs?: string[];
}

/** Starts the control plane (on a fixed xDS port, so it can be restarted), the apps and their sidecars. */
export async function startMesh(opts: MeshOptions = {}): Promise<Mesh> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-mesh-'));
  const xdsPort = await freePort();
  const xdsInsecurePort = await freePort();
  let cpArgs = [
    '--xds-port',
    String(xdsPort),
    '--xds-insecure-port',
    String(xdsInsecurePort),
    '--endpoint-grace',
    '30s',
    ...(opts.cpArgs ?? []),
  ];
  // startControlPlaneProcess passes --xds-port 0 first; the later flag wins.
  let cp = await startControlPlaneProcess(dataDir, cpArgs);
  const ctl = (args: string[], input = '') => run(BIN.trellisctl, ['--api', cp.api, ...args], input);
  const apply = async (yaml: string): Promise<void> => {
    const r = await ctl(['apply', '-f', '-'], yaml);
    if (r.code !== 0) throw new Error(`trellisctl apply failed: ${r.stderr}`);
  };
  await apply(MESH_SERVICES);
  const [webV1, webV2, tcp, grpc] = await Promise.all([
    startHttpApp('web-v1'),
    startHttpApp('web-v2'),
    startTcpEcho('tcp-echo'),
    startEchoBackend('echo-1'),
  ]);
  // Sidecars with identities use the TLS port; the others the plaintext one.
  const xds = `127.0.0.1:${opts.mtls === true ? xdsPort : xdsInsecurePort}`;
  const tcpLocalPort = await freePort();
  /** With mTLS, a sidecar's join token, as an operator gets it. */
  const identity = async (service: string): Promise<string[]> => {
    if (opts.mtls !== true) return opts.sidecarArgs ?? [];
    const r = await ctl(['token', 'create', '--service', service]);
    if (r.code !== 0) throw new Error(`trellisctl token create failed: ${r.stderr}`);
    return ['--join-token', r.stdout.trim(), ...(opts.sidecarArgs ?? [])];
  };
  const sidecars = {
    client: await startSidecar({
      service: 'client',
      xds,
      tcpUpstreams: [`tcp-echo:7000=${tcpLocalPort}`],
      extraArgs: await identity('client'),
    }),
    webV1: await startSidecar({
      service: 'web',
      xds,
      appPort: webV1.port,
      labels: { version: 'v1' },
      extraArgs: await identity('web'),
    }),
    webV2: await startSidecar({
      service: 'web',
      xds,
      appPort: webV2.port,
      labels: { version: 'v2' },
      extraArgs: await identity('web'),
    }),
    tcp: await startSidecar({ service: 'tcp-echo', xds, appPort: tcp.port, extraArgs: await identity('tcp-echo') }),
    grpc: await startSidecar({ service: 'echo', xds, appPort: grpc.port, extraArgs: await identity('echo') }),
  };
  const mesh: Mesh = {
    get cp() {
      return cp;
    },
    dataDir,
    xdsPort,
    xdsInsecurePort,
    apps: { webV1, webV2, tcp, grpc },
    sidecars,
    tcpLocalPort,
    apply,
    ctl,
    async workloadCertificate(service: string, ttlSeconds = 0) {
      const r = await ctl(['token', 'create', '--service', service]);
      if (r.code !== 0) throw new Error(`trellisctl token create failed: ${r.stderr}`);
      const token = r.stdout.trim();
      const at = [`127.0.0.1:${xdsPort}`];
      const trust = await discoverControlPlaneTrust(at, joinTokenHints(token) as JoinTokenHints);
      const key = await newWorkloadKey(service);
      const chain = await requestCertificate(at, bootstrapCredentials(trust), key.csrPem, ttlSeconds, { token });
      return { keyPem: key.keyPem, chain, rootPem: trust.rootPem };
    },
    async stopControlPlane() {
      await cp.daemon.stop();
    },
    async restartControlPlane(extraArgs?: string[]) {
      await cp.daemon.stop();
      if (extraArgs !== undefined) cpArgs = [...cpArgs, ...extraArgs];
      cp = await startControlPlaneProcess(dataDir, cpArgs);
    },
    async stop() {
      await Promise.all(Object.values(sidecars).map((s) => s.stop()));
      await cp.daemon.stop();
      await Promise.all([webV1.close(), webV2.close(), tcp.close(), grpc.close()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return mesh;
}
