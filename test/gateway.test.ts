import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freePort } from '../bench/lib/ports.ts';
import { selfSignedCertificate } from './helpers/certificates.ts';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type Mesh, startMesh } from './helpers/mesh.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  cn: string;
}

function httpsGet(port: number, servername: string, reqPath: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: reqPath,
        servername,
        headers: { host: servername },
        rejectUnauthorized: false,
        agent: false,
        timeout: 5_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => {
          const cert = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate?.();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            cn: /CN=([^\n,]+)/.exec(cert?.subject ?? '')?.[1] ?? '',
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('edge gateway (end to end): Gateway + Route into the mesh over mTLS', function () {
  this.timeout(120_000);
  let mesh: Mesh;
  let gateway: SidecarProcess;
  let dir: string;
  let httpsPort: number;
  let httpPort: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-gateway-'));
    for (const [name, cn] of [
      ['shop', 'shop.example.com'],
      ['default', 'gateway.default'],
    ] as const) {
      const c = await selfSignedCertificate(cn, { dns: cn });
      writeFileSync(path.join(dir, `${name}.crt`), c.cert);
      writeFileSync(path.join(dir, `${name}.key`), c.key, { mode: 0o600 });
    }
    mesh = await startMesh({ mtls: true });
    httpsPort = await freePort();
    httpPort = await freePort();
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: Gateway
metadata: { name: edge }
spec:
  servers:
    - port: ${httpsPort}
      protocol: HTTPS
      hosts: [shop.example.com]
      tls:
        certificates:
          - { hosts: [shop.example.com], certFile: ${dir}/shop.crt, keyFile: ${dir}/shop.key }
          - { certFile: ${dir}/default.crt, keyFile: ${dir}/default.key }
      hsts: { maxAge: 8760h, includeSubDomains: true }
    - port: ${httpPort}
      protocol: HTTP
      hosts: ["*"]
      httpsRedirect: true
---
apiVersion: trellis.dev/v1
kind: Route
metadata: { name: shop }
spec:
  hosts: [shop.example.com]
  gateways: [edge]
  http:
    - match: [{ pathPrefix: /checkout }]
      route: [{ service: web }]
`);
    const token = (await mesh.ctl(['token', 'create', '--service', 'edge'])).stdout.trim();
    gateway = await startSidecar({
      service: 'edge',
      xds: `127.0.0.1:${mesh.xdsPort}`,
      extraArgs: ['--gateway', 'edge', '--join-token', token],
    });
  });
  after(async () => {
    closeHttpClients();
    await gateway?.stop();
    await mesh?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('HTTPS with the certificate of the SNI name, routed into the mesh over mTLS, with HSTS', async () => {
    const reply = await eventually(async () => {
      const r = await httpsGet(httpsPort, 'shop.example.com', '/checkout/cart');
      expect(r.status).to.equal(200);
      return r;
    }, 200);
    expect(reply.cn).to.equal('shop.example.com');
    expect(reply.headers['strict-transport-security']).to.equal('max-age=31536000; includeSubDomains');
    expect(reply.headers).to.have.property('x-ratelimit-limit');
    const seen = JSON.parse(reply.body) as { headers: Record<string, string> };
    // The app behind web's sidecar sees who called: the gateway's SPIFFE id, proven by mTLS.
    expect(seen.headers['x-forwarded-client-cert']).to.contain('URI=spiffe://cluster.local/ns/default/sa/edge');
    // Another name gets the default certificate, and no route.
    const other = await httpsGet(httpsPort, 'other.example.org', '/checkout');
    expect([other.cn, other.status]).to.deep.equal(['gateway.default', 404]);
  });

  it('HTTP redirects to HTTPS (301, the gateway HTTPS port)', async () => {
    await eventually(async () => {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.get(
          {
            host: '127.0.0.1',
            port: httpPort,
            path: '/checkout?x=1',
            headers: { host: 'shop.example.com' },
            agent: false,
          },
          resolve,
        );
        req.on('error', reject);
      });
      res.resume();
      expect(res.statusCode).to.equal(301);
      expect(res.headers.location).to.equal(`https://shop.example.com:${httpsPort}/checkout?x=1`);
    }, 200);
  });

  it("a Route bound to the gateway only is not the mesh's: a sidecar does not route its host", async () => {
    const res = await viaProxy(mesh.sidecars.client.outboundPort, 'http://shop.example.com/checkout', { fresh: true });
    expect(res.status).to.equal(404);
  });

  it('AuthorizationPolicies selecting the gateway apply at its listeners', async () => {
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: edge-no-admin }
spec:
  selector: { service: edge }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/checkout/admin*"] } }] }]
`);
    await eventually(async () => {
      const denied = await httpsGet(httpsPort, 'shop.example.com', '/checkout/admin/users');
      expect([denied.status, denied.body]).to.deep.equal([403, 'RBAC: access denied']);
    }, 200);
    expect((await httpsGet(httpsPort, 'shop.example.com', '/checkout/cart')).status).to.equal(200);
    await mesh.ctl(['delete', 'authz', 'edge-no-admin']);
  });
});
