// The jwt_authn filter through a live handler on real sockets, tokens made and keys held by jose: valid, expired,
// not yet valid, wrong issuer, wrong audience, bad signature, unknown kid, missing (allowed or required); the payload
// reaches RBAC (a request principal rule) and configured headers, spoofed ones never; a JWKS file rotated in place.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { anyOf, decodeAny, EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { jwtAuthnConfig } from '../../config/decode-jwt-authn.ts';
import { rbacConfig } from '../../config/decode-rbac.ts';
import { type HttpFilterConfig, JWT_AUTHN_TYPE, RBAC_TYPE } from '../../config/model.ts';
import { send } from '../../http/test-harness.ts';
import { filterBench } from '../test-filter-proxy.ts';

type Obj = Record<string, unknown>;
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const ISSUER = 'https://issuer.test';

async function keyPair(kid: string): Promise<{ key: Key; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { key: privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function token(key: Key, kid: string, claims: Obj = {}, opts: { exp?: number | string; nbf?: number | string } = {}) {
  const jwt = new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(String(claims['iss'] ?? ISSUER))
    .setAudience(String(claims['aud'] ?? 'web'))
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m');
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(key);
}

function decoded<T>(type: string, config: Obj, decode: (o: Obj, p: string) => T): T {
  return decode(decodeAny(anyOf(typeUrl(type), config)) as Obj, 'typed_config');
}

describe('jwt_authn filter (envoy.filters.http.jwt_authn)', () => {
  const bench = filterBench();
  let a: { key: Key; jwk: JWK };
  let b: { key: Key; jwk: JWK };
  let dir: string;

  before(async () => {
    a = await keyPair('a');
    b = await keyPair('b');
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-jwks-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const provider = (jwks: Obj = { inline_string: JSON.stringify({ keys: [a.jwk] }) }): Obj => ({
    issuer: ISSUER,
    audiences: ['web'],
    local_jwks: jwks,
    payload_in_metadata: 'payload',
    claim_to_headers: [{ header_name: 'x-jwt-sub', claim_name: 'sub' }],
  });
  const chain = (requires: Obj, jwks?: Obj, rbac?: Obj): HttpFilterConfig[] => [
    {
      name: 'envoy.filters.http.jwt_authn',
      typeName: JWT_AUTHN_TYPE,
      config: decoded(
        EXTENSION_TYPES.jwtAuthn,
        { providers: { issuer: provider(jwks) }, rules: [{ match: { prefix: '/' }, requires }] },
        jwtAuthnConfig,
      ),
    },
    ...(rbac === undefined
      ? []
      : [
          {
            name: 'envoy.filters.http.rbac',
            typeName: RBAC_TYPE,
            config: decoded(EXTENSION_TYPES.rbac, rbac, rbacConfig),
          },
        ]),
  ];
  const optional = { requires_any: { requirements: [{ provider_name: 'issuer' }, { allow_missing: {} }] } };
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('verifies tokens: valid passes with its claims as headers (token removed); each bad one gets 401 saying why', async () => {
    const p = await bench.proxy(chain(optional));
    const ok = await send(p.port, '/', { headers: { ...bearer(await token(a.key, 'a')), 'x-jwt-sub': 'mallory' } });
    expect(ok.status).to.equal(200);
    const seen = JSON.parse(ok.body) as { headers: Record<string, string> };
    expect(seen.headers['x-jwt-sub']).to.equal('alice');
    expect(seen.headers).to.not.have.property('authorization');
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Promise<string>][] = [
      ['Jwt is expired', token(a.key, 'a', {}, { exp: now - 3600 })],
      ['Jwt not yet valid', token(a.key, 'a', {}, { nbf: now + 3600 })],
      ['Jwt issuer is not configured', token(a.key, 'a', { iss: 'https://other.test' })],
      ['Audiences in Jwt are not allowed', token(a.key, 'a', { aud: 'orders' })],
      // Signed with b's key but naming a's kid: the signature does not verify.
      ['Jwt verification fails', token(b.key, 'a')],
      ["Jwks doesn't have key to match kid or alg from Jwt", token(b.key, 'b')],
      ['Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections', Promise.resolve('garbage')],
    ];
    for (const [why, t] of cases) {
      const res = await send(p.port, '/', { headers: bearer(await t) });
      expect(res.status, why).to.equal(401);
      expect(res.body).to.equal(why);
      expect(res.headers['www-authenticate']).to.match(/^Bearer realm="http:\/\/.*", error="invalid_token"$/);
    }
    // A claim that would split the request head is not copied (CR/LF, and what latin1 folds into them).
    for (const sub of ['alice\r\nx-injected: yes', 'alice\u010ax-injected: yes']) {
      const res = await send(p.port, '/', { headers: bearer(await token(a.key, 'a', { sub })) });
      expect(res.status).to.equal(200);
      const headers = (JSON.parse(res.body) as { headers: Obj }).headers;
      expect(headers).to.not.have.property('x-injected');
      expect(headers).to.not.have.property('x-jwt-sub');
    }
    // No token: allowed here, and a client's own x-jwt-sub never reaches the app.
    const anonymous = await send(p.port, '/', { headers: { 'x-jwt-sub': 'mallory' } });
    expect(anonymous.status).to.equal(200);
    expect((JSON.parse(anonymous.body) as { headers: Obj }).headers).to.not.have.property('x-jwt-sub');
    expect(p.stats.counter('http.in.jwt_authn.denied')).to.equal(cases.length);
  });

  it('a required token that is missing gets 401 Jwt is missing; the payload reaches RBAC as a request principal', async () => {
    const rbac = {
      rules: {
        action: 'ALLOW',
        policies: {
          alice: {
            permissions: [{ any: true }],
            principals: [
              {
                metadata: {
                  filter: 'envoy.filters.http.jwt_authn',
                  path: [{ key: 'payload' }, { key: 'sub' }],
                  value: { string_match: { exact: 'alice' } },
                },
              },
            ],
          },
        },
      },
    };
    const p = await bench.proxy(chain({ provider_name: 'issuer' }, undefined, rbac));
    const missing = await send(p.port, '/');
    expect([missing.status, missing.body]).to.deep.equal([401, 'Jwt is missing']);
    expect((await send(p.port, '/', { headers: bearer(await token(a.key, 'a')) })).status).to.equal(200);
    const bob = await send(p.port, '/', { headers: bearer(await token(a.key, 'a', { sub: 'bob' })) });
    expect([bob.status, bob.body]).to.deep.equal([403, 'RBAC: access denied']);
  });

  it('a JWKS file rotated in place: tokens of the new key pass once the file changed', async () => {
    const file = path.join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [a.jwk] }));
    const p = await bench.proxy(chain({ provider_name: 'issuer' }, { filename: file }));
    expect((await send(p.port, '/', { headers: bearer(await token(a.key, 'a')) })).status).to.equal(200);
    expect((await send(p.port, '/', { headers: bearer(await token(b.key, 'b')) })).status).to.equal(401);
    writeFileSync(file, JSON.stringify({ keys: [b.jwk] }));
    // A modification time the previous read cannot have had (the file is re-read when it changes, checked each second).
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    const deadline = Date.now() + 5000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline)
      status = (await send(p.port, '/', { headers: bearer(await token(b.key, 'b')) })).status;
    expect(status).to.equal(200);
    expect((await send(p.port, '/', { headers: bearer(await token(a.key, 'a')) })).status).to.equal(401);
  });

  it('refuses what it cannot honour, naming the field', () => {
    const err = (config: Obj): string => {
      try {
        decoded(EXTENSION_TYPES.jwtAuthn, config, jwtAuthnConfig);
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(
      err({ providers: { p: { issuer: ISSUER, remote_jwks: { http_uri: { uri: 'https://x', cluster: 'c' } } } } }),
    ).to.equal(
      'typed_config.providers.p.remote_jwks: not supported by the sidecar: give local_jwks (Trellis fetches jwksUri at the control plane)',
    );
    expect(err({ providers: { p: { issuer: ISSUER, local_jwks: { inline_string: '{"nokeys":1}' } } } })).to.equal(
      'typed_config.providers.p.local_jwks.inline_string: expected a JWKS: { "keys": [ … ] }',
    );
    expect(
      err({
        providers: { p: provider() },
        rules: [{ match: { prefix: '/' }, requires: { provider_name: 'q' } }],
      }),
    ).to.equal('typed_config.rules[0].requires.provider_name: no provider named "q"');
  });
});
