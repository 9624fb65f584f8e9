// The announced endpoints kept across control-plane restarts: written to <data-dir>/registry/endpoints.json (whole,
// atomically) when they change, read back at start, so a restart does not empty a service while its proxies reconnect
// (restored endpoints linger until the deadline they had, unless their node announces again). Expired entries and
// malformed files are ignored: the registry then starts empty, as before.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { MAX_ENDPOINT_WEIGHT, MIN_ENDPOINT_WEIGHT } from '../common/limits.ts';
import type { Endpoint } from './endpoint.ts';
import type { AnnouncedEndpoint } from './endpoint-registry.ts';

export const ENDPOINTS_FILE = path.join('registry', 'endpoints.json');

function isStringRecord(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
  );
}

/** An entry as written by saveEndpoints, or undefined for anything else. */
function entryOf(v: unknown): AnnouncedEndpoint | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const { service, address, port, labels, weight, zone, source, tls, identity, until } = o;
  if (typeof until !== 'number' || !Number.isFinite(until)) return undefined;
  if (identity !== undefined && typeof identity !== 'string') return undefined;
  if (typeof service !== 'string' || typeof address !== 'string' || isIP(address) === 0) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < MIN_ENDPOINT_WEIGHT) return undefined;
  if (weight > MAX_ENDPOINT_WEIGHT || !isStringRecord(labels) || typeof zone !== 'string') return undefined;
  if (typeof source !== 'string' || source === '' || source === 'static') return undefined;
  const ep: Endpoint = { service, address, port, labels: { ...labels }, weight, zone, source };
  if (tls === true) ep.tls = true;
  if (identity !== undefined) ep.identity = identity;
  return { ep, until };
}

/** The endpoints saved in dataDir still within their deadline, or why none are (no file is not an error). */
export function loadEndpoints(
  dataDir: string,
  now = Date.now(),
): { endpoints: AnnouncedEndpoint[] } | { error: string } {
  const file = path.join(dataDir, ENDPOINTS_FILE);
  if (!existsSync(file)) return { endpoints: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { error: `${file}: ${(err as Error).message}` };
  }
  const o = parsed as { savedAt?: unknown; endpoints?: unknown };
  if (typeof o?.savedAt !== 'number' || !Array.isArray(o.endpoints))
    return { error: `${file}: expected { savedAt, endpoints }` };
  const endpoints = o.endpoints.map(entryOf).filter((e): e is AnnouncedEndpoint => e !== undefined && e.until > now);
  return { endpoints };
}

/** Replaces the file with these endpoints (written beside it, then renamed: a crash leaves the old or the new one). */
export function saveEndpoints(dataDir: string, endpoints: readonly AnnouncedEndpoint[], now = Date.now()): void {
  const file = path.join(dataDir, ENDPOINTS_FILE);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  const entries = endpoints.map(({ ep, until }) => ({ ...ep, until }));
  writeFileSync(tmp, JSON.stringify({ savedAt: now, endpoints: entries }), { mode: 0o600 });
  renameSync(tmp, file);
}
