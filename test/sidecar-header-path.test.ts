// End to end, control plane and real sidecars: the app's Server and X-Powered-By never reach its clients, X-Real-IP is
// the caller's address whatever the client sends, traversal spellings cannot slip past a Route rule, %2F redirects;
// a Service's `sidecar` options change that for its own listeners.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { BIN, type ControlPlaneProcess, run, startControlPlaneProcess } from './helpers/processes.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

const MESH = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: shop }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: trellis.dev/v1
kind: Service
metadata: { name: vault }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: trellis.dev/v1
kind: Route
metadata: { name: shop }
spec:
  hosts: [shop]
  http:
    - match: [{ pathPrefix: /admin }]
      route: [{ service: vault }]
`;

const VAULT_OPEN = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: vault }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
  sidecar:
    serverHeaderTransformation: PASS_THROUGH
    responseHeadersToRemove: []
    pathWithEscapedSlashesAction: KEEP_UNCHANGED
`;

interface Seen {
  app: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** An app that brands its responses (Server, X-Powered-By) and answers what it saw. */
async function brandedApp(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const seen: Seen = { app: name, url: req.url ?? '', headers: req.headers };
    res.writeHead(200, { 'content-type': 'application/json', server: 'Express/4.18', 'x-powered-by': 'Express' });
    res.end(JSON.stringify(seen));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('sidecar header and path hygiene (end to end)', function () {
  this.timeout(90_000);
  let dataDir: string;
  let cp: ControlPlaneProcess;
  const apps: { close(): Promise<void> }[] = [];
  const sidecars: SidecarProcess[] = [];
  let client: SidecarProcess;

  const apply = async (yaml: string): Promise<void> => {
    const r = await run(BIN.trellisctl, ['--api', cp.api, 'apply', '-f', '-'], yaml);
    if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
  };
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await viaProxy(client.outboundPort, url, { headers });
    return { ...res, seen: res.status === 200 ? (JSON.parse(res.body) as Seen) : undefined };
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-hygiene-'));
    cp = await startControlPlaneProcess(dataDir);
    await apply(MESH);
    const xds = `127.0.0.1:${cp.xdsInsecurePort}`;
    const shop = await brandedApp('shop');
    const vault = await brandedApp('vault');
    apps.push(shop, vault);
    client = await startSidecar({ service: 'client', xds });
    sidecars.push(client);
    sidecars.push(await startSidecar({ service: 'shop', xds, appPort: shop.port }));
    sidecars.push(await startSidecar({ service: 'vault', xds, appPort: vault.port }));
    await eventually(async () => expect((await get('http://shop:8080/ready')).seen?.app).to.equal('shop'), 200);
    await eventually(async () => expect((await get('http://shop:8080/admin')).seen?.app).to.equal('vault'), 200);
  });

  after(async () => {
    closeHttpClients();
    await Promise.all(sidecars.map((s) => s.stop()));
    await cp?.daemon.stop();
    await Promise.all(apps.map((a) => a.close()));
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it("conceals the app's Server and X-Powered-By; X-Real-IP is the caller's address, not the client's claim", async () => {
    const res = await get('http://shop:8080/x', { 'x-real-ip': '6.6.6.6' });
    expect(res.status).to.equal(200);
    expect(res.headers.server).to.equal('trellis');
    expect(res.headers['x-powered-by']).to.equal(undefined);
    expect(res.seen?.headers['x-real-ip']).to.equal('127.0.0.1');
  });

  for (const spelling of ['/public/../admin/keys', '/public/%2e%2e/admin/keys', '//admin/keys', '/./admin//keys']) {
    it(`a Route rule for /admin catches ${spelling}, and the app gets /admin/keys`, async () => {
      const res = await get(`http://shop:8080${spelling}`);
      expect(res.seen?.app).to.equal('vault');
      expect(res.seen?.url).to.equal('/admin/keys');
    });
  }

  it("escaped slashes: the destination's sidecar redirects to the unescaped path", async () => {
    const res = await get('http://shop:8080/public%2F..%2Fadmin?x=1');
    expect(res.status).to.equal(307);
    expect(res.headers.location).to.equal('/admin?x=1');
  });

  it("a Service's sidecar options: its app's headers and escaped slashes pass through", async () => {
    await apply(VAULT_OPEN);
    await eventually(
      async () => expect((await get('http://vault:8080/x')).headers.server).to.equal('Express/4.18'),
      200,
    );
    const res = await get('http://vault:8080/files/a%2Fb');
    expect(res.headers['x-powered-by']).to.equal('Express');
    expect(res.seen?.url).to.equal('/files/a%2Fb');
    // shop keeps the defaults.
    expect((await get('http://shop:8080/x')).headers.server).to.equal('trellis');
  });
});
