// Proxyless gRPC in the mesh's mTLS (gRFC A29 over A36): an unmodified @grpc/grpc-js-xds client with
// XdsChannelCredentials calls an unmodified XdsServer with XdsServerCredentials; the control plane sends both the xDS
// security config, and trellis-agent keeps the certificate files their file_watcher providers read. Identities are
// checked on both sides; a client without the mesh's certificates is refused by the STRICT server. Their xDS goes
// through trellis-agent's xDS proxy (a 0600 Unix socket, carried to the control plane over mTLS): the control plane
// sees each node with its agent's identity, and takes the server's endpoint announcement from it.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as grpcJsXds from '@grpc/grpc-js-xds';
import * as protoLoader from '@grpc/proto-loader';
import { expect } from 'chai';
import { freePort } from '../bench/lib/ports.ts';
import { CERT_FILES } from '../sidecar/src/agent/cert-files.ts';
import { echoClient } from './helpers/grpc-echo.ts';
import {
  BIN,
  type ControlPlaneProcess,
  type Daemon,
  run,
  startControlPlaneProcess,
  startDaemon,
} from './helpers/processes.ts';
import { startSidecar } from './helpers/sidecar.ts';

const AGENT_BIN = fileURLToPath(new URL('../sidecar/bin/trellis-agent.js', import.meta.url));
const Echo = (
  grpc.loadPackageDefinition(
    protoLoader.loadSync(fileURLToPath(new URL('./protos/echo.proto', import.meta.url)), { keepCase: true }),
  ) as unknown as { trellis: { test: { Echo: grpc.ServiceClientConstructor } } }
).trellis.test.Echo;

interface WhoReply {
  backend: string;
  message: string;
}
type Who = (
  req: { message: string },
  opts: { deadline: number },
  cb: (err: grpc.ServiceError | null, res?: WhoReply) => void,
) => void;

/** A bootstrap for a proxyless node on the plaintext xDS port; with a certificate directory, the `trellis` provider. */
function bootstrap(xds: string, node: Record<string, unknown>, certsDir?: string): string {
  return JSON.stringify({
    xds_servers: [{ server_uri: xds, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { locality: {}, ...node },
    server_listener_resource_name_template: 'grpc/server?xds.resource.listening_address=%s',
    ...(certsDir === undefined
      ? {}
      : {
          certificate_providers: {
            trellis: {
              plugin_name: 'file_watcher',
              config: {
                certificate_file: path.join(certsDir, CERT_FILES.chain),
                private_key_file: path.join(certsDir, CERT_FILES.key),
                ca_certificate_file: path.join(certsDir, CERT_FILES.roots),
                refresh_interval: '1s',
              },
            },
          },
        }),
  });
}

describe('proxyless gRPC over xDS-provided mTLS (grpc-js-xds client and XdsServer, trellis-agent)', function () {
  this.timeout(60_000);
  let dir: string;
  let cp: ControlPlaneProcess;
  let server: grpcJsXds.XdsServer;
  let port: number;
  const agents: Daemon[] = [];
  const clients: grpc.Client[] = [];
  /** The client identity the server saw on each call. */
  const peers: string[] = [];

  const ctl = async (args: string[], input = ''): Promise<string> => {
    const r = await run(BIN.trellisctl, ['--api', cp.api, ...args], input);
    if (r.code !== 0) throw new Error(`trellisctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };

  /** trellis-agent for `service`: resolves once it is ready (certificate files written, xDS proxy listening). */
  async function agent(service: string): Promise<{ certs: string; xds: string }> {
    const certs = path.join(dir, service);
    const socket = path.join(dir, `${service}.sock`);
    const token = await ctl(['token', 'create', '--service', service]);
    const d = startDaemon(AGENT_BIN, [
      '--xds',
      `127.0.0.1:${cp.xdsPort}`,
      '--service',
      service,
      '--join-token',
      token,
      '--certs-dir',
      certs,
      '--xds-proxy',
      socket,
    ]);
    agents.push(d);
    await d.waitForLog((l) => l['msg'] === 'agent ready', 20_000);
    return { certs, xds: `unix://${socket}` };
  }

  function who(client: grpc.Client, message: string): Promise<WhoReply> {
    return new Promise((resolve, reject) =>
      (client as unknown as { Who: Who }).Who({ message }, { deadline: Date.now() + 3000 }, (err, res) =>
        err ? reject(err) : resolve(res as WhoReply),
      ),
    );
  }

  /** Calls until one succeeds (config and certificates reach the client asynchronously), within 20 s. */
  async function whoEventually(client: grpc.Client): Promise<WhoReply> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        return await who(client, 'hello');
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
  }

  before(async () => {
    grpcJsXds.register();
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-proxyless-mtls-'));
    cp = await startControlPlaneProcess(path.join(dir, 'data'));
    port = await freePort();
    await ctl(
      ['apply', '-f', '-'],
      `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: echo }
spec:
  ports: [{ name: grpc, port: 50051, protocol: GRPC }]
---
apiVersion: trellis.dev/v1
kind: PeerAuthentication
metadata: { name: echo }
spec:
  selector: { service: echo }
  mtls: { mode: STRICT }
`,
    );
    const echo = await agent('echo');
    // Only the agent's user may open its xDS socket.
    expect(statSync(echo.xds.slice('unix://'.length)).mode & 0o777).to.equal(0o600);
    server = new grpcJsXds.XdsServer({
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': bootstrap(
        echo.xds,
        {
          id: 'echo-xds-server',
          metadata: {
            TRELLIS_SERVICE: 'echo',
            TRELLIS_PORT: String(port),
            TRELLIS_INBOUND_ADDRESS: '127.0.0.1',
            TRELLIS_MTLS: 'true',
          },
        },
        echo.certs,
      ),
    } as grpc.ServerOptions);
    server.addService(Echo.service, {
      Who(call: grpc.ServerUnaryCall<{ message: string }, WhoReply>, cb: grpc.sendUnaryData<WhoReply>) {
        peers.push(call.getAuthContext().sslPeerCertificate?.subjectaltname ?? 'plaintext');
        cb(null, { backend: 'echo-xds-server', message: call.request.message });
      },
      Chat(call: grpc.ServerDuplexStream<unknown, WhoReply>) {
        call.end();
      },
    });
    // The callback comes once the server has its Listener (and with it, its TLS settings) and serves.
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(
        `127.0.0.1:${port}`,
        new grpcJsXds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  });

  after(async () => {
    for (const c of clients) c.close();
    server?.forceShutdown();
    await Promise.all(agents.map((a) => a.stop()));
    await cp?.daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a client with the mesh's certificates calls the STRICT server over mTLS; each side proves its identity", async () => {
    const agentOfClient = await agent('client');
    const client = new Echo('xds:///echo', new grpcJsXds.XdsChannelCredentials(grpc.credentials.createInsecure()), {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': bootstrap(
        agentOfClient.xds,
        { id: 'echo-xds-client', metadata: { TRELLIS_SERVICE: 'client', TRELLIS_MTLS: 'true' } },
        agentOfClient.certs,
      ),
    });
    clients.push(client);
    const reply = await whoEventually(client);
    expect(reply.backend).to.equal('echo-xds-server');
    // The server saw the client's SPIFFE id (its certificate verified against the mesh roots).
    expect(peers.at(-1)).to.equal('URI:spiffe://cluster.local/ns/default/sa/client');
    // The control plane knows both nodes by their agents' identities (their streams came over mTLS), and routed to
    // the endpoint the server's node announced (the Service lists none).
    const status = JSON.parse(await ctl(['proxy-status', '-o', 'json'])) as {
      proxies: { node_id: string; identity: string }[];
    };
    const identities = Object.fromEntries(status.proxies.map((p) => [p.node_id, p.identity]));
    expect(identities).to.deep.include({
      'echo-xds-server': 'spiffe://cluster.local/ns/default/sa/echo',
      'echo-xds-client': 'spiffe://cluster.local/ns/default/sa/client',
    });
  });

  it('a Trellis sidecar with a token reaches the same proxyless server over mTLS (sidecar and proxyless share the mesh)', async () => {
    const token = await ctl(['token', 'create', '--service', 'caller']);
    const sidecar = await startSidecar({
      service: 'caller',
      xds: `127.0.0.1:${cp.xdsPort}`,
      extraArgs: ['--join-token', token],
    });
    const client = echoClient(`127.0.0.1:${sidecar.outboundPort}`, { 'grpc.default_authority': 'echo:50051' });
    try {
      expect((await client.who('via-sidecar')).backend).to.equal('echo-xds-server');
      expect(peers.at(-1)).to.equal('URI:spiffe://cluster.local/ns/default/sa/caller');
    } finally {
      client.close();
      await sidecar.stop();
    }
  });

  it('a client without certificates is refused by the STRICT server (it cannot speak TLS to it)', async () => {
    const plain = new Echo('xds:///echo', new grpcJsXds.XdsChannelCredentials(grpc.credentials.createInsecure()), {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': bootstrap(`127.0.0.1:${cp.xdsInsecurePort}`, {
        id: 'plain-xds-client',
      }),
    });
    clients.push(plain);
    const before = peers.length;
    const code = await who(plain, 'x').then(
      () => grpc.status.OK,
      (err: grpc.ServiceError) => err.code,
    );
    expect(code).to.equal(grpc.status.UNAVAILABLE);
    // Straight to the port in plaintext: refused as well.
    const direct = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.push(direct);
    const directCode = await who(direct, 'x').then(
      () => grpc.status.OK,
      (err: grpc.ServiceError) => err.code,
    );
    expect(directCode).to.equal(grpc.status.UNAVAILABLE);
    expect(peers.length).to.equal(before);
  });

  it('an AuthorizationPolicy reaches the XdsServer as its RBAC filter (gRFC A41): only the identity it allows calls', async () => {
    const client = clients[0] as grpc.Client;
    const token = await ctl(['token', 'create', '--service', 'caller']);
    const sidecar = await startSidecar({
      service: 'caller',
      xds: `127.0.0.1:${cp.xdsPort}`,
      extraArgs: ['--join-token', token],
    });
    const viaSidecar = echoClient(`127.0.0.1:${sidecar.outboundPort}`, { 'grpc.default_authority': 'echo:50051' });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => grpc.status.OK,
        (err: grpc.ServiceError) => err.code,
      );
    try {
      await ctl(
        ['apply', '-f', '-'],
        `apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: echo-callers }
spec:
  selector: { service: echo }
  rules: [{ from: [{ source: { principals: [cluster.local/ns/default/sa/caller] } }] }]
`,
      );
      const deadline = Date.now() + 20_000;
      while ((await code(who(client, 'x'))) !== grpc.status.PERMISSION_DENIED) {
        if (Date.now() > deadline) throw new Error('the XdsServer never enforced the policy');
      }
      expect((await viaSidecar.who('allowed')).backend).to.equal('echo-xds-server');
      expect(peers.at(-1)).to.equal('URI:spiffe://cluster.local/ns/default/sa/caller');
      await ctl(['delete', 'authz', 'echo-callers']);
      expect((await whoEventually(client)).backend).to.equal('echo-xds-server');
    } finally {
      viaSidecar.close();
      await sidecar.stop();
    }
  });
});
