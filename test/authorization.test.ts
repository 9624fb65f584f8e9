// AuthorizationPolicy end to end, real processes over mesh mTLS: callers with different SPIFFE ids × policies give
// exactly the expected 200/403 at web's inbound; DENY beats ALLOW; a policy applied live takes effect with no allowed
// request failing; a path that walks back (/x/../admin) cannot slip past a path rule; TCP RBAC closes a denied
// connection before the app sees a byte; a gRPC call is refused with PERMISSION_DENIED; dry run only counts.
import net from 'node:net';
import { expect } from 'chai';
import { freePort } from '../bench/lib/ports.ts';
import { eventually } from './helpers/eventually.ts';
import { echoClient } from './helpers/grpc-echo.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type Mesh, startMesh } from './helpers/mesh.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

const OTHER = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: other }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
`;

describe('AuthorizationPolicy (end to end, over mesh mTLS)', function () {
  this.timeout(180_000);
  let mesh: Mesh;
  let other: SidecarProcess;
  let otherTcpPort: number;

  const as = (caller: 'client' | 'other') => (caller === 'client' ? mesh.sidecars.client : other);
  const call = async (caller: 'client' | 'other', method: string, path: string): Promise<number> =>
    (await viaProxy(as(caller).outboundPort, `http://web:8080${path}`, { method, fresh: true })).status;
  const stat = async (sidecar: SidecarProcess, name: string): Promise<number> => {
    const text = await (await sidecar.admin('/stats')).text();
    return Number(/^(\S+): (\d+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name}: `)) ?? '')?.[2] ?? 0);
  };
  /** What a TCP connection through a caller's tunnel gets back for `ping` ('' when closed without an answer). */
  const echo = (port: number): Promise<string> =>
    new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString();
      });
      socket.once('close', () => resolve(got));
      socket.once('error', () => undefined);
      socket.end('ping\n');
    });
  const del = async (name: string): Promise<void> => {
    await mesh.ctl(['delete', 'authz', name]);
  };

  /** The matrix of (caller, method, path) → status, the caller first. */
  const REQUESTS: [caller: 'client' | 'other', method: string, path: string][] = [
    ['client', 'GET', '/orders'],
    ['client', 'POST', '/orders'],
    ['client', 'GET', '/admin/users'],
    ['client', 'GET', '/orders/../admin/users'],
    ['other', 'GET', '/orders'],
    ['other', 'POST', '/orders'],
    ['other', 'GET', '/admin/users'],
  ];
  const matrix = async (): Promise<number[]> => {
    const out: number[] = [];
    for (const [caller, method, path] of REQUESTS) out.push(await call(caller, method, path));
    return out;
  };

  before(async () => {
    mesh = await startMesh({ mtls: true });
    await mesh.apply(OTHER);
    otherTcpPort = await freePort();
    const token = (await mesh.ctl(['token', 'create', '--service', 'other'])).stdout.trim();
    other = await startSidecar({
      service: 'other',
      xds: `127.0.0.1:${mesh.xdsPort}`,
      tcpUpstreams: [`tcp-echo:7000=${otherTcpPort}`],
      extraArgs: ['--join-token', token],
    });
    await eventually(async () => expect(await matrix()).to.deep.equal([200, 200, 200, 200, 200, 200, 200]), 200);
  });
  after(async () => {
    closeHttpClients();
    await other?.stop();
    await mesh?.stop();
  });

  it('callers × policies: exactly the expected 200/403 (ALLOW by identity and method, DENY on a path beats it)', async () => {
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: web-readers }
spec:
  selector: { service: web }
  rules:
    - from: [{ source: { principals: [cluster.local/ns/default/sa/client] } }]
    - from: [{ source: { principals: ["*/sa/other"] } }]
      to: [{ operation: { methods: [GET] } }]
---
apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: no-admin }
spec:
  selector: { service: web }
  action: DENY
  rules:
    - to: [{ operation: { paths: ["/admin/*"] } }]
`);
    const applied = Date.now();
    // client: everything but /admin (also when the path walks back into it); other: GET only, no /admin.
    const expected = [200, 200, 403, 403, 200, 403, 403];
    await eventually(async () => expect(await matrix()).to.deep.equal(expected), 200, 50);
    const tookMs = Date.now() - applied;
    expect(tookMs, 'policy in effect').to.be.below(5000);
    const denied = await viaProxy(other.outboundPort, 'http://web:8080/orders', { method: 'POST', fresh: true });
    expect(denied.body).to.equal('RBAC: access denied');
    const deniedCount =
      (await stat(mesh.sidecars.webV1, 'http.inbound.rbac.deny_denied')) +
      (await stat(mesh.sidecars.webV2, 'http.inbound.rbac.deny_denied')) +
      (await stat(mesh.sidecars.webV1, 'http.inbound.rbac.allow_denied')) +
      (await stat(mesh.sidecars.webV2, 'http.inbound.rbac.allow_denied'));
    expect(deniedCount).to.be.at.least(4);
    await del('web-readers');
    await del('no-admin');
    await eventually(async () => expect(await matrix()).to.deep.equal([200, 200, 200, 200, 200, 200, 200]), 200, 50);
  });

  it('a DENY applied live under load stops its caller and fails none of the allowed requests', async () => {
    let running = true;
    const failures: string[] = [];
    let served = 0;
    const load = Promise.all(
      Array.from({ length: 2 }, async () => {
        while (running) {
          const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/live').catch((e: Error) => ({
            status: 0,
            body: e.message,
          }));
          if (r.status === 200) served++;
          else failures.push(`${r.status} ${r.body}`);
        }
      }),
    );
    try {
      await mesh.apply(`apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: deny-other }
spec:
  selector: { service: web }
  action: DENY
  rules: [{ from: [{ source: { principals: [cluster.local/ns/default/sa/other] } }] }]
`);
      await eventually(async () => expect(await call('other', 'GET', '/live')).to.equal(403), 200, 50);
    } finally {
      running = false;
      await load;
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect(served).to.be.at.least(10);
    await del('deny-other');
  });

  it('gRPC: a denied call gets PERMISSION_DENIED; dry run only counts', async () => {
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: echo-nobody }
spec:
  selector: { service: echo }
---
apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: web-dry-run }
spec:
  selector: { service: web }
  action: DENY
  dryRun: true
  rules: [{}]
`);
    const client = echoClient(`127.0.0.1:${mesh.sidecars.client.outboundPort}`, {
      'grpc.default_authority': 'echo:50051',
    });
    try {
      await eventually(
        async () => {
          const code = await client.who('x').then(
            () => 0,
            (e: { code: number }) => e.code,
          );
          expect(code).to.equal(7);
        },
        200,
        50,
      );
    } finally {
      client.close();
    }
    // The dry run denies nothing, and counts what it would have.
    await eventually(
      async () => {
        expect(await call('client', 'GET', '/dry')).to.equal(200);
        const shadow =
          (await stat(mesh.sidecars.webV1, 'http.inbound.rbac.dry_run_deny_shadow_denied')) +
          (await stat(mesh.sidecars.webV2, 'http.inbound.rbac.dry_run_deny_shadow_denied'));
        expect(shadow).to.be.at.least(1);
      },
      200,
      50,
    );
    await del('echo-nobody');
    await del('web-dry-run');
  });

  it('TCP: a connection RBAC denies is closed before the app sees a byte; the allowed caller is echoed', async () => {
    // Both callers' tunnels work before the policy (a refused connection would also read as nothing).
    await eventually(
      async () => {
        expect(await echo(otherTcpPort)).to.equal('ping\n');
        expect(await echo(mesh.tcpLocalPort)).to.equal('ping\n');
      },
      200,
      50,
    );
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: tcp-client-only }
spec:
  selector: { service: tcp-echo }
  rules: [{ from: [{ source: { principals: [cluster.local/ns/default/sa/client] } }] }]
`);
    // In effect once tcp-echo's sidecar counted a denial (a connection cut while its listener changes reads as
    // nothing too); from then on the other caller gets nothing and the allowed one its echo.
    await eventually(
      async () => {
        expect(await echo(otherTcpPort)).to.equal('');
        expect(await stat(mesh.sidecars.tcp, 'inbound_allow.rbac.denied')).to.be.at.least(1);
      },
      200,
      50,
    );
    expect(await echo(otherTcpPort)).to.equal('');
    expect(await echo(mesh.tcpLocalPort)).to.equal('ping\n');
    await del('tcp-client-only');
  });
});
