// Interop: the real @grpc/grpc-js-xds client resolves xds:///echo through our control plane and balances real RPCs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpcJsXds from '@grpc/grpc-js-xds';
import { expect } from 'chai';
import { type EchoBackend, type EchoClient, echoClient, startEchoBackend } from './helpers/grpc-echo.ts';
import { BIN, type Daemon, run, startControlPlaneProcess } from './helpers/processes.ts';

function serviceYaml(backends: readonly EchoBackend[]): string {
  const eps = backends
    .map(
      (b) =>
        `    - { address: 127.0.0.1, port: ${b.port}, labels: { version: ${b.name.startsWith('v2') ? 'v2' : 'v1'} } }`,
    )
    .join('\n');
  return `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: echo }
spec:
  ports: [{ name: grpc, port: 50051, protocol: GRPC }]
  endpoints:
${eps}
`;
}

function routeYaml(v1: number, v2: number): string {
  return `apiVersion: trellis.dev/v1
kind: Route
metadata: { name: echo }
spec:
  hosts: [echo]
  http:
    - route:
        - { service: echo, subset: v1, weight: ${v1} }
        - { service: echo, subset: v2, weight: ${v2} }
      timeout: 2s
`;
}

const POLICY = `apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: echo }
spec:
  service: echo
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
  loadBalancer: { algorithm: LEAST_REQUEST }
`;

/** Sends n sequential RPCs and counts answers per backend name. */
async function tally(client: EchoClient, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const { backend } = await client.who(`req-${i}`);
    counts.set(backend, (counts.get(backend) ?? 0) + 1);
  }
  return counts;
}

/** Repeats batches until pred holds for one batch (config propagates asynchronously); bounded by tries. */
async function until(
  client: EchoClient,
  n: number,
  pred: (c: Map<string, number>) => boolean,
  tries = 40,
): Promise<Map<string, number>> {
  let last = new Map<string, number>();
  for (let i = 0; i < tries; i++) {
    last = await tally(client, n);
    if (pred(last)) return last;
  }
  throw new Error(`condition not met after ${tries} batches; last: ${JSON.stringify([...last])}`);
}

describe('interop: @grpc/grpc-js-xds against the Trellis control plane', function () {
  this.timeout(60_000);
  let dataDir: string;
  let cp: Daemon;
  let api: string;
  let xdsPort: number;
  let backends: EchoBackend[] = [];
  let client: EchoClient | undefined;

  /** The gRPC status of one call (0 = OK). */
  async function callCode(): Promise<number> {
    try {
      await client!.who('status');
      return 0;
    } catch (err) {
      return (err as { code: number }).code;
    }
  }

  /** Calls until one ends with `want` (a change reaches the client asynchronously), within 10 s; the last status. */
  async function untilCode(want: number): Promise<number> {
    const deadline = performance.now() + 10_000;
    let got = await callCode();
    while (got !== want && performance.now() < deadline) got = await callCode();
    return got;
  }

  async function apply(yaml: string): Promise<void> {
    const r = await run(BIN.trellisctl, ['--api', api, 'apply', '-f', '-'], yaml);
    expect(r.code, r.stderr).to.equal(0);
  }

  before(async () => {
    grpcJsXds.register();
    dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-interop-'));
    backends = await Promise.all(['v1-a', 'v1-b', 'v2-a'].map(startEchoBackend));
    const started = await startControlPlaneProcess(dataDir);
    cp = started.daemon;
    xdsPort = started.xdsInsecurePort;
    api = started.api;
    await apply(`${serviceYaml(backends)}---\n${POLICY}---\n${routeYaml(80, 20)}`);
    const bootstrap = {
      xds_servers: [
        { server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: { id: 'interop-client', locality: {} },
    };
    // The bootstrap a user would put in GRPC_XDS_BOOTSTRAP_CONFIG, passed per channel so tests stay independent.
    client = echoClient('xds:///echo', {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
    });
  });

  after(async () => {
    client?.close();
    await cp?.stop();
    await Promise.all(backends.map((b) => b.close()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('round-robins across the endpoints of a subset', async () => {
    await tally(client!, 20); // warm up: every subchannel connects
    const counts = await tally(client!, 400);
    const a = counts.get('v1-a') ?? 0;
    const b = counts.get('v1-b') ?? 0;
    expect(a + b).to.be.greaterThan(250);
    // Within one cluster grpc-js alternates strictly, so the two v1 endpoints differ by at most a handful.
    expect(Math.abs(a - b), JSON.stringify([...counts])).to.be.at.most(4);
  });

  it('splits traffic 80/20 between subsets within statistical bounds', async () => {
    const n = 1000;
    const counts = await tally(client!, n);
    const v2 = (counts.get('v2-a') ?? 0) / n;
    // Binomial sd at p=0.2, n=1000 is 1.26 %; ±5 % is about 4 sd.
    expect(v2, JSON.stringify([...counts])).to.be.within(0.15, 0.25);
  });

  it('applies a weight change live, without restarting the client', async () => {
    await apply(routeYaml(0, 100));
    await until(client!, 50, (c) => c.get('v2-a') === 50);
    await apply(routeYaml(50, 50));
    const counts = await until(client!, 400, (c) => {
      const v2 = (c.get('v2-a') ?? 0) / 400;
      return v2 > 0.4 && v2 < 0.6;
    });
    expect((counts.get('v2-a') ?? 0) / 400).to.be.within(0.4, 0.6);
  });

  it('stops sending to an endpoint removed from the service', async () => {
    await apply(routeYaml(100, 0));
    await until(client!, 40, (c) => (c.get('v1-a') ?? 0) > 0 && (c.get('v1-b') ?? 0) > 0);
    await apply(serviceYaml(backends.filter((b) => b.name !== 'v1-b')));
    const counts = await until(client!, 100, (c) => !c.has('v1-b'));
    expect(counts.get('v1-a')).to.equal(100);
  });

  it('a longer name a Route host gives the service is dialable: xds:///echo.demo.svc:50051', async () => {
    await apply(`apiVersion: trellis.dev/v1
kind: Route
metadata: { name: echo-fqdn }
spec:
  hosts: [echo.demo.svc]
  http:
    - route: [{ service: echo }]
`);
    const bootstrap = {
      xds_servers: [
        { server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: { id: 'interop-fqdn', locality: {} },
    };
    const fqdn = echoClient('xds:///echo.demo.svc:50051', {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
    });
    try {
      // Answered through the service's RouteConfiguration (its virtual host lists the longer name as a domain).
      expect((await fqdn.who('fqdn')).backend).to.match(/^v[12]-/);
    } finally {
      fqdn.close();
      await run(BIN.trellisctl, ['--api', api, 'delete', 'route', 'echo-fqdn']);
    }
  });

  it('routes on a header match in the HeaderMatcher fields every gRPC release reads', async () => {
    const byHeader = routeYaml(100, 0).replace(
      '  http:\n',
      '  http:\n    - match: [{ headers: { x-canary: { exact: "yes" } } }]\n      route: [{ service: echo, subset: v2 }]\n',
    );
    await apply(byHeader);
    const deadline = performance.now() + 10_000;
    let backend = '';
    while (backend !== 'v2-a' && performance.now() < deadline) {
      backend = (await client!.who('canary', 5000, { 'x-canary': 'yes' })).backend;
    }
    expect(backend, 'the header routes to v2').to.equal('v2-a');
    expect((await client!.who('plain')).backend).to.match(/^v1-/);
    await apply(routeYaml(100, 0));
  });

  it("injects the faults a Route rule asks for (gRPC's fault filter, gRFC A33), and stops when the rule goes", async () => {
    const faulty = `${routeYaml(100, 0).trimEnd()}\n      fault: { abort: { grpcStatus: UNAVAILABLE } }\n`;
    await apply(faulty);
    // The rule's routes are as before but for the fault: grpc-js must see that change alone (routes.ts).
    expect(await untilCode(14), 'an aborted call').to.equal(14);
    // 100 % of calls: every one fails while the rule stands.
    for (let i = 0; i < 20; i++) expect(await callCode()).to.equal(14);
    await apply(routeYaml(100, 0));
    expect(await untilCode(0), 'calls go through again').to.equal(0);
  });

  it('a direct response rule fails the RPCs it matches (gRPC cannot be answered by a route): no bypass', async () => {
    const denied = `${routeYaml(100, 0).replace('  http:\n', '  http:\n    - directResponse: { status: 403 }\n')}`;
    await apply(denied);
    // 403 is PERMISSION_DENIED in gRPC's mapping.
    expect(await untilCode(7), 'denied').to.equal(7);
    await apply(routeYaml(100, 0));
    expect(await untilCode(0), 'allowed again').to.equal(0);
  });

  it('reports the client in proxy-status with every type ACKed', async () => {
    const r = await run(BIN.trellisctl, ['--api', api, 'proxy-status', '-o', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    const status = JSON.parse(r.stdout) as {
      proxies: {
        node_id: string;
        types: { type_url: string; sent_version: string; acked_version: string; last_nack?: unknown }[];
      }[];
    };
    const me = status.proxies.find((p) => p.node_id === 'interop-client');
    expect(me, r.stdout).to.not.equal(undefined);
    expect(me!.types.map((t) => t.type_url.split('.').pop()).sort()).to.deep.equal([
      'Cluster',
      'ClusterLoadAssignment',
      'Listener',
      'RouteConfiguration',
    ]);
    for (const t of me!.types) {
      expect(t.acked_version, t.type_url).to.equal(t.sent_version);
      expect(t.last_nack ?? undefined, t.type_url).to.equal(undefined);
    }
  });
});
