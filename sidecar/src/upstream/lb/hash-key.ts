// A route's hash policies → PickContext.hash (Envoy's rules, xxHash64), and sticky cookies that pin a client to a host.
import type { HashPolicy } from '../../config/model.ts';
import type { Host } from '../host/host.ts';
import { halvesToBigint, hex64, hostAnchor, parseHex64 } from './hash64.ts';
import { xxh64Halves } from './xxhash64.ts';

/** What hash policies read from a request; the HTTP path adapts its request view to it. */
export interface HashRequest {
  /** A request header by lower-case name (first value). */
  header(name: string): string | undefined;
  /** A cookie's value from the Cookie header(s). */
  cookie(name: string): string | undefined;
  /** The downstream peer's IP, without port ('' when unknown). */
  readonly sourceIp: string;
  /** A query parameter's first value. */
  query(name: string): string | undefined;
}

const parts = new Uint32Array(2);

/**
 * The request hash for consistent-hash balancers, as Envoy computes it: each policy whose value is present hashes it
 * with xxHash64 (seed 0) and folds it in as hash = rotl(hash, 1) ^ h; policies whose value is missing are skipped; a
 * terminal policy stops evaluation once some hash exists. Undefined when no policy produced a value (the balancer
 * then picks at random). Differences from Envoy: a sticky cookie (a cookie policy with a TTL) whose value is a host
 * anchor (stickyCookieValue) is the whole hash, so the client keeps its host whatever other policies say; header
 * names are matched lower-case.
 */
export function requestHashKey(policies: readonly HashPolicy[], req: HashRequest): bigint | undefined {
  let hi = 0;
  let lo = 0;
  let have = false;
  for (const p of policies) {
    let value: string | undefined;
    switch (p.kind) {
      case 'header':
        value = req.header(p.name.toLowerCase());
        break;
      case 'cookie':
        value = req.cookie(p.name);
        if (value !== undefined && p.cookieTtlMs !== undefined) {
          const anchor = parseHex64(unquote(value));
          if (anchor !== undefined) return anchor;
        }
        break;
      case 'source-ip':
        value = req.sourceIp === '' ? undefined : req.sourceIp;
        break;
      case 'query':
        value = req.query(p.name);
        break;
    }
    if (value !== undefined) {
      xxh64Halves(p.kind === 'cookie' ? unquote(value) : value, 0, parts);
      const h = parts[0] as number;
      const l = parts[1] as number;
      if (have) {
        const rh = (hi << 1) | (lo >>> 31);
        const rl = (lo << 1) | (hi >>> 31);
        hi = rh ^ h;
        lo = rl ^ l;
      } else {
        hi = h;
        lo = l;
        have = true;
      }
    }
    if (p.terminal && have) break;
  }
  return have ? halvesToBigint(hi, lo) : undefined;
}

/**
 * The sticky cookie value for `host`: the 16 hex digits of its anchor, xxh64("<address:port>_0"). That is the
 * host's first ring-hash point, and Maglev indexes anchors too, so a request carrying it hashes (hashForCookieValue)
 * straight to this host in either policy while the host is healthy; if it is not, ring hash walks on to the next
 * host on the ring and Maglev looks the anchor up in its table, both consistently. Stable across sidecars and
 * restarts (no secret), opaque to clients (a hash of the address, like Envoy's own cookie values).
 */
export function stickyCookieValue(host: Host): string {
  return hex64(hostAnchor(host.key));
}

/**
 * The hash a sticky cookie's value stands for (what requestHashKey uses for cookie policies with a TTL): the anchor
 * it carries (16 hex digits), else xxh64 of the value, as Envoy hashes cookies.
 */
export function hashForCookieValue(value: string): bigint {
  const v = unquote(value);
  const anchor = parseHex64(v);
  if (anchor !== undefined) return anchor;
  xxh64Halves(v, 0, parts);
  return halvesToBigint(parts[0] as number, parts[1] as number);
}

/**
 * The cookie policy the response should set a cookie for: the first one with a TTL (Envoy generates cookies only
 * then) whose cookie the request lacks. The HTTP path calls it with the same request it hashed and, after the pick,
 * adds `Set-Cookie: stickySetCookie(policy, host)`.
 */
export function missingStickyCookie(policies: readonly HashPolicy[], req: HashRequest): HashPolicy | undefined {
  for (const p of policies) {
    if (p.kind === 'cookie' && p.cookieTtlMs !== undefined && req.cookie(p.name) === undefined) return p;
  }
  return undefined;
}

/** The Set-Cookie value pinning the client to `host`: Max-Age from the TTL (0 = session cookie), Path, HttpOnly. */
export function stickySetCookie(policy: HashPolicy, host: Host): string {
  let cookie = `${policy.name}=${stickyCookieValue(host)}`;
  const seconds = Math.floor((policy.cookieTtlMs ?? 0) / 1000);
  if (seconds > 0) cookie += `; Max-Age=${seconds}`;
  if (policy.cookiePath !== undefined && policy.cookiePath !== '') cookie += `; Path=${policy.cookiePath}`;
  return `${cookie}; HttpOnly`;
}

function unquote(v: string): string {
  return v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34 ? v.slice(1, -1) : v;
}
