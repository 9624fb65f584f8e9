// MeshStats: the control plane scrapes every connected sidecar's /stats/prometheus (the admin address it announced)
// in parallel, with a short timeout, and returns the samples per proxy.
import { parsePrometheusText } from '../telemetry/prometheus-text.ts';
import { clientKindOf } from '../xds/node.ts';
import type { ProxyStatus, ProxyTracker } from '../xds/proxy-status.ts';
import type { MeshStatsRequestMessage, MeshStatsResponseMessage, ProxyStatsMessage } from './messages.ts';

export const ADMIN_ADDRESS_KEY = 'TRELLIS_ADMIN_ADDRESS';
export const ADMIN_PORT_KEY = 'TRELLIS_ADMIN_PORT';
export const DEFAULT_FETCH_TIMEOUT_MS = 1000;
export const MAX_FETCH_TIMEOUT_MS = 10_000;
const WILDCARDS: ReadonlySet<string> = new Set(['', '0.0.0.0', '::', '[::]']);

/** The host of a grpc-js peer string ("127.0.0.1:5000", "[::1]:5000", "ipv4:…"). */
export function peerHost(peer: string): string | undefined {
  const text = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(text);
  if (bracketed) return bracketed[1];
  const plain = /^([^:]+):\d+$/.exec(text);
  return plain?.[1];
}

function isLoopback(host: string): boolean {
  return host === '::1' || host === 'localhost' || host.startsWith('127.') || host.startsWith('::ffff:127.');
}

/**
 * Where a proxy's admin server is scraped: host:port, or why it is not. The host must be the one the proxy's xDS
 * stream comes from (a wildcard bind is reached there; a loopback one only from the same machine): a proxy cannot
 * make the control plane fetch from any other address it names.
 */
export function adminTarget(p: ProxyStatus): { address: string } | { error: string } {
  const meta = p.node.metadata;
  const port = Number(meta[ADMIN_PORT_KEY]);
  const announced = typeof meta[ADMIN_ADDRESS_KEY] === 'string' ? (meta[ADMIN_ADDRESS_KEY] as string) : undefined;
  if (announced === undefined || !Number.isInteger(port) || port < 1 || port > 65535)
    return { error: `no admin address announced (node metadata ${ADMIN_ADDRESS_KEY}/${ADMIN_PORT_KEY})` };
  const peer = peerHost(p.peer);
  if (peer === undefined) return { error: `cannot tell where the proxy connects from (peer ${p.peer})` };
  let host: string;
  if (WILDCARDS.has(announced)) host = peer;
  else if (announced === peer || (isLoopback(announced) && isLoopback(peer))) host = announced;
  else
    return {
      error:
        `admin address ${announced} is not where the proxy connects from (${peer}): not scraped (bind the ` +
        'admin server to that address, or to 0.0.0.0)',
    };
  return { address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

/** host:port of a proxy's admin server, when it may be scraped (adminTarget). */
export function adminAddressOf(p: ProxyStatus): string | undefined {
  const target = adminTarget(p);
  return 'address' in target ? target.address : undefined;
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

async function scrape(p: ProxyStatus, keep: (name: string) => boolean, timeoutMs: number): Promise<ProxyStatsMessage> {
  const service = p.node.metadata['TRELLIS_SERVICE'];
  const target = adminTarget(p);
  const out: ProxyStatsMessage = {
    node_id: p.node.id,
    service: typeof service === 'string' ? service : '',
    admin_address: 'address' in target ? target.address : '',
    error: 'error' in target ? target.error : '',
    samples: [],
  };
  if (out.admin_address === '') return out;
  try {
    const res = await fetch(`http://${out.admin_address}/stats/prometheus`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) {
      out.error = `HTTP ${res.status} from /stats/prometheus`;
      return out;
    }
    out.samples = parsePrometheusText(text, keep).map((s) => ({ name: s.name, labels: s.labels, value: s.value }));
  } catch (err) {
    out.error = describeFetchError(err, timeoutMs);
  }
  return out;
}

/** Scrapes every connected sidecar (one entry per node id: its newest stream). */
export async function meshStats(
  proxies: ProxyTracker,
  req: Partial<MeshStatsRequestMessage>,
): Promise<MeshStatsResponseMessage> {
  const prefixes = (req.metric_prefixes ?? []).filter((p) => p !== '');
  const keep = prefixes.length === 0 ? () => true : (name: string) => prefixes.some((p) => name.startsWith(p));
  const timeoutMs = Math.min(MAX_FETCH_TIMEOUT_MS, req.timeout_ms || DEFAULT_FETCH_TIMEOUT_MS);
  const byNode = new Map<string, ProxyStatus>();
  for (const p of proxies.list()) {
    if (clientKindOf(p.node) !== 'sidecar') continue;
    const seen = byNode.get(p.node.id);
    if (!seen || Number(p.streamId) > Number(seen.streamId)) byNode.set(p.node.id, p);
  }
  const started = Date.now();
  const results = await Promise.all([...byNode.values()].map((p) => scrape(p, keep, timeoutMs)));
  results.sort((a, b) => (a.service + a.node_id < b.service + b.node_id ? -1 : 1));
  return { collected_at: new Date(started).toISOString(), collected_at_ms: started, proxies: results };
}
