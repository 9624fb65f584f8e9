// Join tokens: what a sidecar presents to get its first workload certificate. Issued by `trellisctl token create`,
// scoped to one service (its namespace and service account), with an expiry; HMAC-SHA-256 with a key kept in the data
// dir (mode 0600), so the control plane verifies them without storing them. Rotating the key revokes every token.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  decodeJoinTokenPayload,
  isControlPlaneIdentity,
  isPathSegment,
  JOIN_TOKEN_PREFIX,
  type JoinTokenPayload,
  splitJoinToken,
} from '@trellis/identity';

export const TOKEN_KEY_FILE = path.join('ca', 'join-token-key');
export const DEFAULT_TOKEN_TTL_MS = 24 * 3600_000;
export const MAX_TOKEN_TTL_MS = 365 * 24 * 3600_000;

/** Who a token lets in: a service account of a namespace (the service's own by default), until `expiresAt`. */
export interface JoinClaims {
  namespace: string;
  serviceAccount: string;
  expiresAt: Date;
}

/** What a token tells the sidecar about the control plane (signed with the rest): see join-token-format.ts. */
export interface ControlPlaneTrust {
  trustDomain: string;
  /** SHA-256 (hex) of the root the control plane's TLS chain ends in. */
  caSha256: string;
}

export class JoinTokens {
  readonly #key: Buffer;
  readonly #now: () => number;

  private constructor(key: Buffer, now: () => number) {
    this.#key = key;
    this.#now = now;
  }

  /** The data dir's key (made on first start, 0600); without a data dir, a key in memory (tokens die with it). */
  static open(dataDir: string | undefined, now: () => number = Date.now): JoinTokens {
    if (dataDir === undefined) return new JoinTokens(randomBytes(32), now);
    const file = path.join(dataDir, TOKEN_KEY_FILE);
    if (!existsSync(file)) {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
    }
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new Error(`${file} is readable by others (mode ${mode.toString(8)}): chmod 600 ${file}`);
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length < 32) throw new Error(`${file}: expected 32 bytes of base64, got ${key.length}`);
    return new JoinTokens(key, now);
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }

  /** A token for `namespace`/`serviceAccount` that expires `ttlMs` from now. */
  issue(
    namespace: string,
    serviceAccount: string,
    ttlMs = DEFAULT_TOKEN_TTL_MS,
    trust?: ControlPlaneTrust,
  ): { token: string; claims: JoinClaims } {
    if (!isPathSegment(namespace))
      throw new Error(`namespace: expected letters, digits, ".", "-" or "_", got ${JSON.stringify(namespace)}`);
    if (!isPathSegment(serviceAccount))
      throw new Error(
        `service account: expected letters, digits, ".", "-" or "_", got ${JSON.stringify(serviceAccount)}`,
      );
    if (isControlPlaneIdentity(namespace, serviceAccount))
      throw new Error(`${namespace}/${serviceAccount} is the control plane's own identity: no token may grant it`);
    if (!(ttlMs > 0 && ttlMs <= MAX_TOKEN_TTL_MS)) throw new Error('ttl: expected more than 0 and at most 365 days');
    const exp = Math.floor((this.#now() + ttlMs) / 1000);
    const body: JoinTokenPayload = { ns: namespace, sa: serviceAccount, exp };
    if (trust !== undefined) {
      body.td = trust.trustDomain;
      body.ca = trust.caSha256;
    }
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
    return {
      token: `${JOIN_TOKEN_PREFIX}${payload}.${this.#mac(payload)}`,
      claims: { namespace, serviceAccount, expiresAt: new Date(exp * 1000) },
    };
  }

  /** The token's claims, or why it is refused (a message safe to show the caller). */
  verify(token: string): JoinClaims | { refused: string } {
    const parts = splitJoinToken(token);
    if (parts === undefined) return { refused: 'not a Trellis join token' };
    const { payload, mac } = parts;
    const want = Buffer.from(this.#mac(payload));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got))
      return { refused: 'join token signature is invalid' };
    const claims = decodeJoinTokenPayload(payload);
    if (claims === undefined) return { refused: 'malformed join token' };
    const { ns, sa, exp } = claims as { ns?: unknown; sa?: unknown; exp?: unknown };
    if (typeof ns !== 'string' || typeof sa !== 'string' || typeof exp !== 'number')
      return { refused: 'malformed join token' };
    if (isControlPlaneIdentity(ns, sa)) return { refused: "the control plane's own identity is not for workloads" };
    if (exp * 1000 <= this.#now()) return { refused: `join token expired at ${new Date(exp * 1000).toISOString()}` };
    return { namespace: ns, serviceAccount: sa, expiresAt: new Date(exp * 1000) };
  }
}
