// Starts the demo mesh on loopback: the control plane, the demo config, every app beside its own sidecar.
import { appScript, BINS, MESH_CONFIG } from './paths.ts';
import type { PortAllocator } from './ports.ts';
import type { Child, ProcessGroup } from './process-group.ts';
import { INSTANCES, type Instance, SERVICE_PORTS } from './topology.ts';
import { trellisctl } from './trellisctl.ts';

export interface SidecarPorts {
  inbound: number;
  outbound: number;
  admin: number;
}

/** One app and its sidecar, running. */
export interface RunningInstance {
  instance: Instance;
  app: Child;
  sidecar: Child;
  appPort: number;
  ports: SidecarPorts;
}

export interface Mesh {
  /** host:port of the control plane's operator API. */
  api: string;
  xds: string;
  controlPlane: Child;
  instances: RunningInstance[];
  /** The load generator's own sidecar (service loadgen, outbound only). */
  loadgen: { sidecar: Child; outboundPort: number; adminPort: number };
  /** Kills an app (SIGKILL, as a crash) and leaves its sidecar running. */
  killApp(name: string): number;
  /** Starts a killed app again on the same port. */
  restartApp(name: string): Promise<void>;
}

export interface MeshOptions {
  group: ProcessGroup;
  ports: PortAllocator;
  dataDir: string;
  /** Called with each step as it starts. */
  step(message: string): void;
  /** Where every sidecar exports its spans (--tracing-endpoint); none: the sidecars' environment decides. */
  tracingEndpoint?: string;
}

const SIDECAR_READY = (l: Record<string, unknown>): boolean => l['msg'] === 'sidecar ready';
const APP_LISTENING = (l: Record<string, unknown>): boolean => l['msg'] === 'listening';

function appEnv(
  i: Instance,
  appPort: number,
  sidecar: SidecarPorts,
  tcpPorts: Map<string, number>,
): Record<string, string> {
  const env: Record<string, string> = {
    ...i.env,
    PORT: String(appPort),
    INSTANCE: i.name,
    HTTP_PROXY: `http://127.0.0.1:${sidecar.outbound}`,
    PAYMENTS_VIA: `127.0.0.1:${sidecar.outbound}`,
  };
  for (const [service, port] of tcpPorts) env[`${service.toUpperCase()}_VIA`] = `127.0.0.1:${port}`;
  return env;
}

function sidecarArgs(
  xds: string,
  nodeId: string,
  service: string,
  ports: SidecarPorts,
  tracingEndpoint: string | undefined,
): string[] {
  const tracing =
    tracingEndpoint === undefined ? [] : ['--tracing-endpoint', tracingEndpoint, '--tracing-batch-delay', '500ms'];
  return [
    ...tracing,
    '--xds',
    xds,
    '--service',
    service,
    '--node-id',
    nodeId,
    '--inbound-address',
    '127.0.0.1',
    '--inbound-port',
    String(ports.inbound),
    '--outbound-port',
    String(ports.outbound),
    '--admin-port',
    String(ports.admin),
    '--drain-time',
    '1s',
  ];
}

export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  const { group, ports, step } = opts;
  const [xdsPort, apiPort, metricsPort] = [await ports.next(), await ports.next(), await ports.next()];
  step(`control plane: xDS (mTLS) on 127.0.0.1:${xdsPort}, API on 127.0.0.1:${apiPort}, store in ${opts.dataDir}`);
  const controlPlane = group.start('control-plane', BINS.controlPlane, [
    '--data-dir',
    opts.dataDir,
    '--xds-host',
    '127.0.0.1',
    '--xds-port',
    String(xdsPort),
    '--api-port',
    String(apiPort),
    '--metrics-port',
    String(metricsPort),
    '--endpoint-grace',
    '5s',
  ]);
  await controlPlane.waitForLog((l) => l['msg'] === 'ready');
  const api = `127.0.0.1:${apiPort}`;
  const xds = `127.0.0.1:${xdsPort}`;

  step('trellisctl apply -f demo/config/mesh.yaml');
  const applied = await trellisctl(api, ['apply', '-f', MESH_CONFIG]);
  for (const line of applied.trim().split('\n')) step(`  ${line}`);

  const planned = [];
  for (const instance of INSTANCES) {
    const appPort = await ports.next();
    const sidecar: SidecarPorts = {
      inbound: await ports.next(),
      outbound: await ports.next(),
      admin: await ports.next(),
    };
    const tcpPorts = new Map<string, number>();
    for (const upstream of instance.tcpUpstreams) tcpPorts.set(upstream, await ports.next());
    planned.push({ instance, appPort, sidecar, tcpPorts });
  }
  const loadgenPorts: SidecarPorts = {
    inbound: await ports.next(),
    outbound: await ports.next(),
    admin: await ports.next(),
  };

  step(`apps: ${INSTANCES.map((i) => i.name).join(', ')}`);
  const apps = new Map<string, Child>();
  const appArgs = new Map<string, { script: string; env: Record<string, string> }>();
  for (const p of planned) {
    const script = appScript(p.instance.app);
    const env = appEnv(p.instance, p.appPort, p.sidecar, p.tcpPorts);
    appArgs.set(p.instance.name, { script, env });
    apps.set(p.instance.name, group.start(p.instance.name, script, [], env));
  }
  await Promise.all([...apps.values()].map((a) => a.waitForLog(APP_LISTENING)));

  // Every sidecar joins with a token for its service: it gets a workload certificate and talks mTLS (STRICT, from
  // the mesh-wide PeerAuthentication in mesh.yaml).
  const tokens = new Map<string, string>();
  for (const service of new Set([...planned.map((p) => p.instance.service), 'loadgen']))
    tokens.set(service, (await trellisctl(api, ['token', 'create', '--service', service])).trim());
  step(`identity: a join token per service (trellisctl token create); every sidecar talks mTLS, STRICT`);
  const joinToken = (service: string): string[] => ['--join-token', tokens.get(service) as string];

  step(`sidecars: one trellis-sidecar per app, plus one for the load generator`);
  const sidecars = planned.map((p) => {
    const args = sidecarArgs(xds, `${p.instance.name}-sidecar`, p.instance.service, p.sidecar, opts.tracingEndpoint);
    args.push(...joinToken(p.instance.service));
    args.push('--app-port', String(p.appPort));
    args.push(
      '--labels',
      Object.entries(p.instance.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    );
    for (const [service, local] of p.tcpPorts)
      args.push('--tcp-upstream', `${service}:${SERVICE_PORTS[service as keyof typeof SERVICE_PORTS]}=${local}`);
    return group.start(`${p.instance.name}-sidecar`, BINS.sidecar, args);
  });
  const loadgenSidecar = group.start('loadgen-sidecar', BINS.sidecar, [
    ...sidecarArgs(xds, 'loadgen-sidecar', 'loadgen', loadgenPorts, opts.tracingEndpoint),
    ...joinToken('loadgen'),
  ]);
  await Promise.all([...sidecars, loadgenSidecar].map((s) => s.waitForLog(SIDECAR_READY)));

  const instances: RunningInstance[] = planned.map((p, n) => ({
    instance: p.instance,
    app: apps.get(p.instance.name) as Child,
    sidecar: sidecars[n] as Child,
    appPort: p.appPort,
    ports: p.sidecar,
  }));
  const find = (name: string): RunningInstance => {
    const found = instances.find((i) => i.instance.name === name);
    if (found === undefined) throw new Error(`no demo instance named ${name}`);
    return found;
  };
  return {
    api,
    xds,
    controlPlane,
    instances,
    loadgen: { sidecar: loadgenSidecar, outboundPort: loadgenPorts.outbound, adminPort: loadgenPorts.admin },
    killApp(name) {
      const running = find(name);
      running.app.process.kill('SIGKILL');
      return running.app.pid;
    },
    async restartApp(name) {
      const running = find(name);
      if (!running.app.exited()) return;
      const how = appArgs.get(name) as { script: string; env: Record<string, string> };
      running.app = group.start(name, how.script, [], how.env);
      await running.app.waitForLog(APP_LISTENING);
    },
  };
}
