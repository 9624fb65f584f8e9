import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { selfSignedCertificate } from './helpers/certificates.ts';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type Mesh, startMesh } from './helpers/mesh.ts';

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const ISSUER = 'https://issuer.test';

describe('RequestAuthentication (JWT) end to end: JWKS fetched over HTTPS, tokens verified at the inbound', function () {
  this.timeout(120_000);
  let mesh: Mesh;
  let jwksServer: https.Server;
  let served: { keys: JWK[] };
  let dir: string;
  const saved = process.env['NODE_EXTRA_CA_CERTS'];
  const keys: Record<'a' | 'b', { key: Key; jwk: JWK }> = {} as never;

  const sign = (kid: 'a' | 'b', claims: Record<string, unknown> = {}, times: { exp?: number; nbf?: number } = {}) => {
    const jwt = new SignJWT({ sub: 'alice', groups: ['admin'], ...claims })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(String(claims['iss'] ?? ISSUER))
      .setAudience(String(claims['aud'] ?? 'web'))
      .setExpirationTime(times.exp ?? '5m');
    if (times.nbf !== undefined) jwt.setNotBefore(times.nbf);
    return jwt.sign(keys[kid].key);
  };
  const get = async (p: string, token?: string) =>
    viaProxy(mesh.sidecars.client.outboundPort, `http://web:8080${p}`, {
      fresh: true,
      ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
    });

  before(async () => {
    for (const kid of ['a', 'b'] as const) {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      keys[kid] = { key: privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
    }
    served = { keys: [keys.a.jwk] };
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-jwks-'));
    const tls = await selfSignedCertificate('jwks.test', { ip: '127.0.0.1', ca: true });
    writeFileSync(path.join(dir, 'ca.pem'), tls.cert);
    jwksServer = https.createServer({ cert: tls.cert, key: tls.key }, (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    // The control plane (a child process) trusts the issuer's TLS certificate as any private CA: NODE_EXTRA_CA_CERTS.
    process.env['NODE_EXTRA_CA_CERTS'] = path.join(dir, 'ca.pem');
    mesh = await startMesh({ mtls: true, cpArgs: ['--jwks-refresh', '1s'] });
    const uri = `https://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: RequestAuthentication
metadata: { name: web-jwt }
spec:
  selector: { service: web }
  jwtRules:
    - issuer: ${ISSUER}
      audiences: [web]
      jwksUri: ${uri}
      outputClaimToHeaders: [{ header: x-jwt-sub, claim: sub }]
---
apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: web-private }
spec:
  selector: { service: web }
  action: DENY
  rules:
    - from: [{ source: { notRequestPrincipals: ["*"] } }]
      to: [{ operation: { paths: ["/private/*"] } }]
    - to: [{ operation: { paths: ["/admin/*"] } }]
      when: [{ key: "request.auth.claims[groups]", notValues: [admin] }]
`);
  });
  after(async () => {
    closeHttpClients();
    await mesh?.stop();
    await new Promise((resolve) => jwksServer?.close(resolve));
    if (saved === undefined) delete process.env['NODE_EXTRA_CA_CERTS'];
    else process.env['NODE_EXTRA_CA_CERTS'] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a valid token passes with its claims as headers; each bad one gets 401 with the reason', async () => {
    const valid = await sign('a');
    // In effect once an anonymous request to /private is refused (jwt_authn and RBAC come in one listener update),
    // and the keys fetched once a valid token passes.
    await eventually(async () => expect((await get('/private/x')).status).to.equal(403), 200, 50);
    await eventually(async () => expect((await get('/private/x', valid)).status).to.equal(200), 200, 50);
    const seen = JSON.parse((await get('/private/x', valid)).body) as { headers: Record<string, string> };
    expect(seen.headers['x-jwt-sub']).to.equal('alice');
    expect(seen.headers).to.not.have.property('authorization');
    const now = Math.floor(Date.now() / 1000);
    const bad: [string, string][] = [
      ['Jwt is expired', await sign('a', {}, { exp: now - 3600 })],
      ['Jwt not yet valid', await sign('a', {}, { nbf: now + 3600 })],
      ['Jwt issuer is not configured', await sign('a', { iss: 'https://evil.test' })],
      ['Audiences in Jwt are not allowed', await sign('a', { aud: 'orders' })],
      ['Jwt verification fails', `${valid.slice(0, valid.lastIndexOf('.'))}.${'A'.repeat(86)}`],
      ["Jwks doesn't have key to match kid or alg from Jwt", await sign('b')],
    ];
    for (const [why, token] of bad) {
      const res = await get('/private/x', token);
      expect([res.status, res.body], why).to.deep.equal([401, why]);
    }
  });

  it('no token: public paths pass, a policy requiring a request principal refuses; claims decide /admin', async () => {
    expect((await get('/public')).status).to.equal(200);
    expect((await get('/private/x')).status).to.equal(403);
    expect((await get('/admin/x', await sign('a'))).status).to.equal(200);
    expect((await get('/admin/x', await sign('a', { sub: 'bob', groups: ['dev'] }))).status).to.equal(403);
  });

  it('a key rotation at the issuer reaches the sidecar: the new key verifies, the old one no longer', async () => {
    served = { keys: [keys.b.jwk] };
    const fresh = await sign('b');
    await eventually(async () => expect((await get('/private/x', fresh)).status).to.equal(200), 200, 50);
    expect((await get('/private/x', await sign('a'))).status).to.equal(401);
  });
});
