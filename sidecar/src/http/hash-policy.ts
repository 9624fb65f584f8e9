// A route's hash policies → the 32-bit request hash consistent-hash balancers pick by (PickContext.hash).
import type { HashPolicy } from '../config/model.ts';
import type { RequestView } from './request-view.ts';

/** FNV-1a over UTF-16 code units: cheap, stable, good enough to spread keys over a ring. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Combines the hashes of the policies that apply, in order (rotate-and-xor like Envoy); a terminal policy that
 * produced a hash stops evaluation. Undefined when no policy produced a value.
 */
export function requestHash(policies: readonly HashPolicy[], view: RequestView, peer: string): number | undefined {
  let hash: number | undefined;
  for (const p of policies) {
    let key: string | undefined | null;
    switch (p.kind) {
      case 'header':
        key = view.header(p.name.toLowerCase());
        break;
      case 'cookie':
        key = cookieValue(view.header('cookie'), p.name);
        break;
      case 'source-ip':
        key = peer === '' ? undefined : peer;
        break;
      case 'query':
        key = view.queryParam(p.name);
        break;
    }
    if (key === undefined || key === null) continue;
    const h = fnv1a32(key);
    hash = hash === undefined ? h : (((hash << 1) | (hash >>> 31)) ^ h) >>> 0;
    if (p.terminal) break;
  }
  return hash;
}
