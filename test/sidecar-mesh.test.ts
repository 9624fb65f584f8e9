// End to end through real sidecars: client app → client sidecar (outbound) → service sidecar (inbound) → app.
import net from 'node:net';
import { expect } from 'chai';
import WebSocket from 'ws';
import type { Seen } from './helpers/apps.ts';
import { eventually } from './helpers/eventually.ts';
import { echoClient } from './helpers/grpc-echo.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type Mesh, startMesh } from './helpers/mesh.ts';

function webRoute(v1: number, v2: number): string {
  return `apiVersion: trellis.dev/v1
kind: Route
metadata: { name: web }
spec:
  hosts: [web]
  http:
    - match: [{ pathPrefix: /api/ }]
      rewrite: { pathPrefix: /rewritten/ }
      route: [{ service: web, subset: v1 }]
    - match: [{ pathPrefix: /, headers: { x-canary: { exact: "1" } } }]
      route: [{ service: web, subset: v2 }]
    - route:
        - { service: web, subset: v1, weight: ${v1} }
        - { service: web, subset: v2, weight: ${v2} }
`;
}

/** Sends n requests to web through the client sidecar and counts which app answered. */
async function split(mesh: Mesh, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/split');
    expect(r.status, r.body).to.equal(200);
    const app = (JSON.parse(r.body) as Seen).app;
    counts.set(app, (counts.get(app) ?? 0) + 1);
  }
  return counts;
}

/** Sends bytes through a socket and collects everything until the peer ends. */
function echoThrough(socket: net.Socket, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      got += d;
    });
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
    socket.end(payload);
  });
}

describe('sidecar mesh: two hops through real sidecars', function () {
  this.timeout(90_000);
  let mesh: Mesh;

  before(async () => {
    mesh = await startMesh();
    await mesh.apply(webRoute(80, 20));
    // Converged once the route is in force (only its rewrite rule changes the path; before it, web's endpoints
    // answer round robin) and answers from both subsets' endpoints.
    await eventually(async () => {
      const rewritten = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/api/ready');
      expect(rewritten.status).to.equal(200);
      expect((JSON.parse(rewritten.body) as Seen).url).to.equal('/rewritten/ready');
      const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/ready', {
        headers: { 'x-canary': '1' },
      });
      expect(r.status).to.equal(200);
      expect((JSON.parse(r.body) as Seen).app).to.equal('web-v2');
    }, 200);
  });

  after(async () => {
    closeHttpClients();
    await mesh?.stop();
  });

  it('reaches the service through the client outbound and the service inbound listener', async () => {
    const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/hello?x=1', {
      headers: { 'x-canary': '1' },
    });
    expect(r.status).to.equal(200);
    const seen = JSON.parse(r.body) as Seen;
    expect(seen.app).to.equal('web-v2');
    expect(seen.url).to.equal('/hello?x=1');
    expect(seen.headers.host).to.equal('web:8080');
    // Concealment: the client never learns upstream addresses or internal headers.
    expect(JSON.stringify(r.headers)).to.not.match(/x-trellis|127\.0\.0\.1:\d+/);
  });

  it('appends to X-Forwarded-For at each hop and keeps X-Request-Id end to end', async () => {
    const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/xff', {
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'req-abc-123', 'x-canary': '1' },
    });
    const seen = JSON.parse(r.body) as Seen;
    expect(seen.headers['x-forwarded-for']).to.equal('203.0.113.7, 127.0.0.1, 127.0.0.1');
    expect(seen.headers['x-request-id']).to.equal('req-abc-123');
    expect(seen.headers['x-forwarded-proto']).to.equal('http');
    const generated = JSON.parse(
      (await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/id')).body,
    ) as Seen;
    expect(generated.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });

  it('rewrites the path prefix', async () => {
    const seen = JSON.parse(
      (await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/api/orders/7')).body,
    ) as Seen;
    expect(seen.app).to.equal('web-v1');
    expect(seen.url).to.equal('/rewritten/orders/7');
  });

  it('splits 80/20 between subsets, and a route change applied with trellisctl takes effect live', async () => {
    const counts = await split(mesh, 400);
    expect((counts.get('web-v2') ?? 0) / 400, JSON.stringify([...counts])).to.be.within(0.12, 0.28);
    await mesh.apply(webRoute(0, 100));
    await eventually(async () => {
      const c = await split(mesh, 20);
      expect(c.get('web-v2')).to.equal(20);
    });
    await mesh.apply(webRoute(80, 20));
  });

  it('carries gRPC unary and bidirectional streaming through two sidecars', async () => {
    const client = echoClient(`127.0.0.1:${mesh.sidecars.client.outboundPort}`, {
      'grpc.default_authority': 'echo:50051',
    });
    try {
      const reply = await client.who('ping');
      expect(reply).to.deep.equal({ backend: 'echo-1', message: 'ping' });
      const replies = await client.chat(['a', 'b', 'c']);
      expect(replies.map((x) => x.message)).to.deep.equal(['a', 'b', 'c']);
    } finally {
      client.close();
    }
  });

  it('proxies plain TCP through a local upstream port, with half-close', async () => {
    const socket = net.connect(mesh.tcpLocalPort, '127.0.0.1');
    expect(await echoThrough(socket, 'hello over tcp\n')).to.equal('hello over tcp\n');
  });

  it('tunnels TCP with CONNECT through the outbound listener', async () => {
    const socket = net.connect(mesh.sidecars.client.outboundPort, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.write('CONNECT tcp-echo:7000 HTTP/1.1\r\nHost: tcp-echo:7000\r\n\r\n');
      socket.once('data', (d: Buffer) => {
        expect(d.toString()).to.match(/^HTTP\/1\.1 200/);
        resolve();
      });
    });
    expect(await echoThrough(socket, 'through the tunnel')).to.equal('through the tunnel');
  });

  it('carries a WebSocket echo through two sidecars', async () => {
    const ws = new WebSocket(`ws://web:8080/ws`, {
      headers: { 'x-canary': '1' },
      createConnection: () => net.connect(mesh.sidecars.client.outboundPort, '127.0.0.1'),
    });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (d) => resolve(String(d)));
    });
    ws.close();
    expect(reply).to.equal('web-v2: hi');
  });

  it('shows clusters, stats and config on the admin port', async () => {
    const admin = mesh.sidecars.client;
    expect((await admin.admin('/ready')).status).to.equal(200);
    const clusters = await (await admin.admin('/clusters')).text();
    expect(clusters).to.contain('web|8080|v2::');
    const prom = await (await admin.admin('/stats/prometheus')).text();
    expect(prom).to.match(/^# TYPE /m);
    const dump = (await (await admin.admin('/config_dump')).json()) as Record<string, unknown>;
    expect(JSON.stringify(dump)).to.contain('outbound');
  });
});
