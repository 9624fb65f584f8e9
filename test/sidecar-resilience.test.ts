// End to end: a regex RE2 refuses is refused at apply, one a backtracking engine would stall on is served in linear
// time; the control plane can go away and come back; malformed HTTP gets a 4xx and the sidecar stays up.
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

  it('refuses at apply a regex RE2 refuses; a path a backtracking regex would stall on is answered promptly', async () => {
    // A lookahead is not RE2: refused at apply, naming the field, and nothing changes.
    const refused = await mesh.ctl(['apply', '-f', '-'], route('^/(?!admin)', 'v2'));
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.contain('spec.http[0].match[0].pathRegex: expected an RE2 regular expression');
    expect(refused.stderr).to.contain('lookahead is not supported by RE2');
    for (let i = 0; i < 3; i++) expect(await web()).to.equal('web-v1');
    // Valid RE2 that a backtracking engine runs in exponential time (31 characters stalled the sidecar ~10 s): the
    // control plane accepts it, the sidecars run it in linear time, and no proxy NACKs it.
    await mesh.apply(route('^/(a|a)*$', 'v2'));
    await eventually(async () => expect(await web()).to.equal('web-v2'), 200);
    const status = JSON.parse((await mesh.ctl(['proxy-status', '-o', 'json'])).stdout) as ProxyStatusJson;
    for (const p of status.proxies) for (const t of p.types) expect(t.last_nack ?? null, p.node_id).to.equal(null);
    const long = `/${'a'.repeat(8_000)}`;
    const started = performance.now();
    const port = mesh.sidecars.client.outboundPort;
    const [[matched, unmatched], others] = await Promise.all([
      Promise.all([viaProxy(port, `http://web:8080${long}`), viaProxy(port, `http://web:8080${long}!`)]),
      Promise.all(Array.from({ length: 10 }, () => web())),
    ]);
    expect(performance.now() - started).to.be.below(5_000);
    expect((JSON.parse(matched.body) as Seen).app).to.equal('web-v1'); // the regex route
    expect((JSON.parse(unmatched.body) as Seen).app).to.equal('web-v2'); // the route after it
    expect(others).to.deep.equal(Array(10).fill('web-v2'));
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
