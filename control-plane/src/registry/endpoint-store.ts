// The announced endpoints kept across control-plane restarts: written to <data-dir>/registry/endpoints.json (whole,
// atomically) when they change, read back at start, so a restart does not empty a service while its proxies reconnect
// (restored endpoints linger for the grace period unless their node announces again). Old or malformed files are
// ignored: the registry then starts empty, as before.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { MAX_ENDPOINT_WEIGHT, MIN_ENDPOINT_WEIGHT } from '../common/limits.ts';
import type { Endpoint } from './endpoint.ts';

export const ENDPOINTS_FILE = path.join('registry', 'endpoints.json');
/** A file older than this describes a mesh long gone: not restored. */
export const MAX_RESTORE_AGE_MS = 10 * 60_000;

function isStringRecord(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
  );
}

/** An entry as written by saveEndpoints, or undefined for anything else. */
function endpointOf(v: unknown): Endpoint | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const { service, address, port, labels, weight, zone, source, tls } = o;
  if (typeof service !== 'string' || typeof address !== 'string' || isIP(address) === 0) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < MIN_ENDPOINT_WEIGHT) return undefined;
  if (weight > MAX_ENDPOINT_WEIGHT || !isStringRecord(labels) || typeof zone !== 'string') return undefined;
  if (typeof source !== 'string' || source === '' || source === 'static') return undefined;
  const ep: Endpoint = { service, address, port, labels: { ...labels }, weight, zone, source };
  if (tls === true) ep.tls = true;
  return ep;
}

/** The endpoints saved in dataDir, or why none are restored (no file is not an error). */
export function loadEndpoints(dataDir: string, now = Date.now()): { endpoints: Endpoint[] } | { error: string } {
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
  if (now - o.savedAt > MAX_RESTORE_AGE_MS) return { endpoints: [] };
  const endpoints = o.endpoints.map(endpointOf).filter((e): e is Endpoint => e !== undefined);
  return { endpoints };
}

/** Replaces the file with these endpoints (written beside it, then renamed: a crash leaves the old or the new one). */
export function saveEndpoints(dataDir: string, endpoints: readonly Endpoint[], now = Date.now()): void {
  const file = path.join(dataDir, ENDPOINTS_FILE);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ savedAt: now, endpoints }), { mode: 0o600 });
  renameSync(tmp, file);
}
