// envoy.filters.http.jwt_authn: finds a request's JWT (headers, query parameters, cookies), verifies it with jose
// against its issuer's keys (signature, issuer, audiences, exp/nbf with clock skew) and applies the route's
// requirement: a missing token passes only where allowed, a bad one gets 401 (gRPC: UNAUTHENTICATED) saying why.
// The verified payload goes to the request's metadata (RBAC reads request principals and claims there) and, as
// configured, to headers; headers the filter writes are always stripped from what the client sent.
import type { JWTPayload } from 'jose';
import type { Stats } from '../../common/stats.ts';
import {
  type HttpFilterTypedConfig,
  JWT_AUTHN_METADATA,
  JWT_AUTHN_TYPE,
  type JwtAuthnConfig,
  type JwtProviderConfig,
  type JwtRequirement,
} from '../../config/model.ts';
import type { FilterEnv, FilterStream, HttpFilter, PreparedFilter } from '../../http/filter/filter.ts';
import { GrpcStatus } from '../../http/message/grpc.ts';
import type { LocalReply } from '../../http/message/reply.ts';
import { cookieValue } from '../../http/routing/hash-policy.ts';
import { loadJose } from './jose.ts';
import { fileJwks, inlineJwks, type JwksSource } from './jwks-source.ts';

/** A token, and where it was found (a header the filter removes unless the provider forwards it). */
interface Found {
  token: string;
  header?: string;
}

type Outcome = { ok: true; verified: { provider: Provider; payload: JWTPayload; found: Found }[] } | Failure;
interface Failure {
  ok: false;
  error: string;
  missing: boolean;
}

const MISSING: Failure = { ok: false, error: 'Jwt is missing', missing: true };
const PASS: Outcome = { ok: true, verified: [] };

class Provider {
  readonly config: JwtProviderConfig;
  readonly #jwks: JwksSource;

  constructor(config: JwtProviderConfig, onError: (err: Error) => void) {
    this.config = config;
    this.#jwks = 'inline' in config.jwks ? inlineJwks(config.jwks.inline) : fileJwks(config.jwks.file, onError);
    // jose loads on first use: start now, so the first request does not wait for it.
    loadJose().catch(onError);
  }

  /** The first token in the provider's locations. */
  find(stream: FilterStream, query: URLSearchParams | undefined): Found | undefined {
    for (const h of this.config.fromHeaders) {
      const value = stream.header(h.name);
      if (value === undefined) continue;
      if (h.prefix === '') return value.trim() === '' ? undefined : { token: value.trim(), header: h.name };
      if (value.length > h.prefix.length && value.slice(0, h.prefix.length).toLowerCase() === h.prefix.toLowerCase())
        return { token: value.slice(h.prefix.length).trim(), header: h.name };
    }
    for (const p of this.config.fromParams) {
      const value = query?.get(p);
      if (value) return { token: value };
    }
    for (const c of this.config.fromCookies) {
      const value = cookieValue(stream.header('cookie'), c);
      if (value) return { token: value };
    }
    return undefined;
  }

  async verify(token: string): Promise<{ ok: true; payload: JWTPayload } | Failure> {
    const fail = (error: string): Failure => ({ ok: false, error, missing: false });
    const jose = await loadJose();
    let claimed: JWTPayload;
    try {
      claimed = jose.decodeJwt(token);
    } catch {
      return fail('Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
    }
    if (this.config.issuer !== '' && claimed.iss !== this.config.issuer) return fail('Jwt issuer is not configured');
    const keys = await this.#jwks.keys();
    if (keys === undefined) return fail('Jwks is not available');
    try {
      const { payload } = await jose.jwtVerify(token, keys, {
        ...(this.config.issuer === '' ? {} : { issuer: this.config.issuer }),
        ...(this.config.audiences.length === 0 ? {} : { audience: this.config.audiences }),
        clockTolerance: this.config.clockSkewSeconds,
      });
      return { ok: true, payload };
    } catch (err) {
      return fail(verifyError(err, jose.errors));
    }
  }
}

/** Envoy's words for why a token failed. */
function verifyError(err: unknown, errors: typeof import('jose').errors): string {
  if (err instanceof errors.JWTExpired) return 'Jwt is expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') return 'Jwt not yet valid';
    if (err.claim === 'aud') return 'Audiences in Jwt are not allowed';
    if (err.claim === 'iss') return 'Jwt issuer is not configured';
    return 'Jwt verification fails';
  }
  if (err instanceof errors.JWKSNoMatchingKey) return "Jwks doesn't have key to match kid or alg from Jwt";
  return 'Jwt verification fails';
}

class PreparedJwtAuthn implements PreparedFilter {
  readonly #providers: Map<string, Provider>;
  readonly #config: JwtAuthnConfig;
  readonly #stats: Stats;
  readonly #names: { allowed: string; denied: string };
  /** Every header the filter writes: stripped from what clients send. */
  readonly #owned: readonly string[];

  constructor(config: JwtAuthnConfig, env: FilterEnv) {
    this.#config = config;
    this.#stats = env.stats;
    const warn = (err: Error): void => env.logger?.warn({ err: err.message }, 'jwt_authn: JWKS file unreadable');
    this.#providers = new Map(config.providers.map((p) => [p.name, new Provider(p, warn)]));
    const base = `http.${env.statPrefix}.jwt_authn.`;
    this.#names = { allowed: `${base}allowed`, denied: `${base}denied` };
    const owned = new Set<string>();
    for (const p of config.providers) {
      for (const c of p.claimToHeaders) owned.add(c.header);
      if (p.forwardPayloadHeader !== undefined) owned.add(p.forwardPayloadHeader);
    }
    this.#owned = [...owned];
  }

  #requirement(path: string): JwtRequirement | undefined {
    for (const r of this.#config.rules) {
      const hit = r.match.kind === 'exact' ? path === r.match.value : path.startsWith(r.match.value);
      if (hit) return r.requires;
    }
    return undefined;
  }

  create(stream: FilterStream): HttpFilter | undefined {
    for (const h of this.#owned) stream.setRequestHeader(h, undefined);
    const requirement = this.#requirement(stream.path);
    if (requirement === undefined) return undefined;
    const query = stream.query === '' ? undefined : new URLSearchParams(stream.query.slice(1));
    const found = new Map<string, Found>();
    for (const [name, p] of this.#providers) {
      const f = p.find(stream, query);
      if (f !== undefined) found.set(name, f);
    }
    // No token anywhere: decided at once.
    if (found.size === 0) {
      const outcome = evaluateMissing(requirement);
      if (outcome.ok) return undefined;
      this.#stats.inc(this.#names.denied);
      return new Refusal(reply(stream, outcome));
    }
    return new Verification(this, requirement, found);
  }

  /** Runs the requirement over the found tokens (each verified at most once). */
  async run(requirement: JwtRequirement, found: ReadonlyMap<string, Found>): Promise<Outcome> {
    const results = new Map<string, Promise<Outcome>>();
    const verify = (name: string): Promise<Outcome> => {
      let r = results.get(name);
      if (r === undefined) {
        const f = found.get(name);
        const p = this.#providers.get(name) as Provider;
        r =
          f === undefined
            ? Promise.resolve(MISSING)
            : p
                .verify(f.token)
                .then((v) => (v.ok ? { ok: true, verified: [{ provider: p, payload: v.payload, found: f }] } : v));
        results.set(name, r);
      }
      return r;
    };
    const walk = async (req: JwtRequirement): Promise<Outcome> => {
      switch (req.kind) {
        case 'provider':
          return verify(req.name);
        case 'allowMissing': {
          // Passes when no token is present; a present one must be valid for some provider.
          const outcomes = await Promise.all([...found.keys()].map(verify));
          return outcomes.find((o) => o.ok) ?? outcomes[0] ?? PASS;
        }
        case 'allowMissingOrFailed': {
          const outcomes = await Promise.all([...found.keys()].map(verify));
          return outcomes.find((o) => o.ok) ?? PASS;
        }
        case 'any': {
          const outcomes = await Promise.all(req.of.map(walk));
          const ok = outcomes.find((o) => o.ok);
          if (ok !== undefined) return ok;
          return (outcomes.find((o) => !o.ok && !o.missing) ?? MISSING) as Failure;
        }
        case 'all': {
          const outcomes = await Promise.all(req.of.map(walk));
          const failed = outcomes.find((o) => !o.ok);
          if (failed !== undefined) return failed;
          return { ok: true, verified: outcomes.flatMap((o) => (o.ok ? o.verified : [])) };
        }
      }
    };
    return walk(requirement);
  }

  /** A verified request: counted, its payload in metadata and headers, its token removed unless forwarded. */
  admit(stream: FilterStream, outcome: Outcome): void {
    this.#stats.inc(this.#names.allowed);
    if (!outcome.ok) return;
    for (const { provider, payload, found } of outcome.verified) {
      const c = provider.config;
      if (c.payloadInMetadata !== undefined) {
        const meta = (stream.state.get(JWT_AUTHN_METADATA) as Record<string, unknown> | undefined) ?? {};
        meta[c.payloadInMetadata] = payload;
        stream.state.set(JWT_AUTHN_METADATA, meta);
      }
      for (const { header, claim } of c.claimToHeaders) {
        const value = payload[claim];
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
          stream.setRequestHeader(header, String(value));
      }
      if (c.forwardPayloadHeader !== undefined)
        stream.setRequestHeader(c.forwardPayloadHeader, Buffer.from(JSON.stringify(payload)).toString('base64url'));
      if (!c.forward && found.header !== undefined) stream.setRequestHeader(found.header, undefined);
    }
  }

  refuse(stream: FilterStream, failure: Failure): void {
    this.#stats.inc(this.#names.denied);
    stream.localReply(reply(stream, failure));
  }
}

/** A requirement's outcome when no token is present. */
function evaluateMissing(req: JwtRequirement): Outcome {
  switch (req.kind) {
    case 'provider':
      return MISSING;
    case 'allowMissing':
    case 'allowMissingOrFailed':
      return PASS;
    case 'any':
      return req.of.map(evaluateMissing).find((o) => o.ok) ?? MISSING;
    case 'all':
      return req.of.map(evaluateMissing).find((o) => !o.ok) ?? PASS;
  }
}

function reply(stream: FilterStream, failure: Failure): LocalReply {
  const realm = `Bearer realm="http://${stream.authority}${stream.path}"`;
  const r: LocalReply = {
    status: 401,
    body: failure.error,
    flags: '',
    headers: ['www-authenticate', failure.missing ? realm : `${realm}, error="invalid_token"`],
  };
  if (stream.grpc) r.grpcStatus = GrpcStatus.UNAUTHENTICATED;
  return r;
}

/** A request refused before any verification (no token where one is required). */
class Refusal implements HttpFilter {
  readonly #reply: LocalReply;

  constructor(r: LocalReply) {
    this.#reply = r;
  }

  onRequestHeaders(stream: FilterStream): 'stop' {
    stream.localReply(this.#reply);
    return 'stop';
  }

  onDestroy(): void {}
}

/** A request held while its token is verified (WebCrypto is asynchronous). */
class Verification implements HttpFilter {
  readonly #prepared: PreparedJwtAuthn;
  readonly #requirement: JwtRequirement;
  readonly #found: ReadonlyMap<string, Found>;
  #gone = false;

  constructor(prepared: PreparedJwtAuthn, requirement: JwtRequirement, found: ReadonlyMap<string, Found>) {
    this.#prepared = prepared;
    this.#requirement = requirement;
    this.#found = found;
  }

  onRequestHeaders(stream: FilterStream): 'stop' {
    this.#prepared.run(this.#requirement, this.#found).then(
      (outcome) => {
        if (this.#gone) return;
        if (outcome.ok) {
          this.#prepared.admit(stream, outcome);
          stream.continueRequest();
        } else this.#prepared.refuse(stream, outcome);
      },
      () => {
        if (!this.#gone) this.#prepared.refuse(stream, { ok: false, error: 'Jwt verification fails', missing: false });
      },
    );
    return 'stop';
  }

  onDestroy(): void {
    this.#gone = true;
  }
}

/** The jwt_authn filter type (registered by filters/setup.ts). */
export const jwtAuthnFilter = {
  prepare(config: HttpFilterTypedConfig, env: FilterEnv): PreparedFilter {
    if (config.typeName !== JWT_AUTHN_TYPE) throw new Error(`the jwt_authn filter got a ${config.typeName} config`);
    return new PreparedJwtAuthn(config.config, env);
  },
};
