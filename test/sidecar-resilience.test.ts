// End to end: config the sidecar cannot honour is NACKed while traffic flows; the control plane can go away and
// come back; malformed HTTP gets a 4xx and the sidecar stays up.
import net from 'node:net';
import { expect } from 'chai';
import type { Seen } from './helpers/apps.ts';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type Mesh, startMesh } from './helpers/mesh.ts';

function route(pathRegex: string | undefined, subset: 'v1' | 'v2'): string {
  const match = pathRegex
    ? `\n    - match: [{ pathRegex: "${pathRegex}" }]\n      route: [{ service: web, subset: v1 }]`
    : '';
  return `apiVersion: trellis.dev/v1
kind: Route
metadata: { name: web }
spec:
  hosts: [web]
  http:${match}
    - route: [{ service: web, subset: ${subset} }]
`;
}

interface ProxyStatusJson {
  proxies: { node_id: string; types: { type_url: string; last_nack?: { error: string } | null }[] }[];
}

/** Sends raw bytes to the port and returns the response head's status line. */
function rawStatus(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
      if (got.includes('\r\n')) {
        resolve(got.slice(0, got.indexOf('\r\n')));
        s.destroy();
      }
    });
    s.on('end', () => resolve(got.split('\r\n')[0] ?? ''));
    s.on('error', reject);
    s.write(bytes);
  });
}

describe('sidecar resilience', function () {
  this.timeout(90_000);
  let mesh: Mesh;
  const web = async (): Promise<string> => {
    const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/check');
    expect(r.status, r.body).to.equal(200);
    return (JSON.parse(r.body) as Seen).app;
  };

  before(async () => {
    mesh = await startMesh();
    await mesh.apply(route(undefined, 'v1'));
    await eventually(async () => expect(await web()).to.equal('web-v1'), 200);
  });

  after(async () => {
    closeHttpClients();
    await mesh?.stop();
  });

  it('NACKs a route it cannot honour, shows it in proxy-status, and keeps serving the last good config', async () => {
    // A nested quantifier is valid RE2 (linear time) but would backtrack exponentially in a JS engine: refused.
    await mesh.apply(route('^/(a+)+$', 'v2'));
    const nack = await eventually(async () => {
      const r = await mesh.ctl(['proxy-status', '-o', 'json']);
      const status = JSON.parse(r.stdout) as ProxyStatusJson;
      const client = status.proxies.find((p) => p.node_id === mesh.sidecars.client.nodeId);
      const rds = client?.types.find((t) => t.type_url.endsWith('RouteConfiguration'));
      expect(rds?.last_nack?.error, r.stdout).to.be.a('string');
      return rds!.last_nack!.error;
    }, 200);
    expect(nack).to.match(/regex/i);
    const table = await mesh.ctl(['proxy-status']);
    expect(table.stdout).to.contain('NACK');
    // Still the old route (v1), not the refused one (v2).
    for (let i = 0; i < 5; i++) expect(await web()).to.equal('web-v1');
    await mesh.apply(route(undefined, 'v2'));
    await eventually(async () => expect(await web()).to.equal('web-v2'));
  });

  it('keeps traffic flowing while the control plane is down, and converges when it returns', async () => {
    await mesh.stopControlPlane();
    for (let i = 0; i < 20; i++) expect(await web()).to.equal('web-v2');
    await mesh.restartControlPlane();
    await mesh.apply(route(undefined, 'v1'));
    await eventually(async () => expect(await web()).to.equal('web-v1'), 200);
  });

  it('answers malformed HTTP with a 4xx and stays up', async () => {
    const port = mesh.sidecars.client.outboundPort;
    expect(await rawStatus(port, 'NONSENSE\r\n\r\n')).to.match(/^HTTP\/1\.1 400/);
    expect(
      await rawStatus(port, 'GET / HTTP/1.1\r\nHost: web:8080\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'),
    ).to.match(/^HTTP\/1\.1 400/);
    expect(
      await rawStatus(
        port,
        'POST / HTTP/1.1\r\nHost: web:8080\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
    ).to.match(/^HTTP\/1\.1 400/);
    expect(
      await rawStatus(port, `GET / HTTP/1.1\r\nHost: web:8080\r\nX-Big: ${'a'.repeat(128 * 1024)}\r\n\r\n`),
    ).to.match(/^HTTP\/1\.1 431/);
    expect(await web()).to.match(/^web-v/);
  });
});
