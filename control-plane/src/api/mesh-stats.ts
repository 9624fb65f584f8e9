// MeshStats: the control plane scrapes every connected sidecar's /stats/prometheus (the admin address it announced)
// in parallel, with a short timeout, and returns the samples per proxy.
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { clientKindOf, NODE_META } from '@trellis/node-contract';
import { parsePrometheusText } from '../common/prometheus-text.ts';
import type { ProxyStatus, ProxyTracker } from '../xds/proxy-status.ts';
import type { MeshStatsRequestMessage, MeshStatsResponseMessage, ProxyStatsMessage } from './messages.ts';

export const DEFAULT_FETCH_TIMEOUT_MS = 1000;
export const MAX_FETCH_TIMEOUT_MS = 10_000;
const WILDCARDS: ReadonlySet<string> = new Set(['', '0.0.0.0', '::', '[::]']);

/** An IP in one spelling: lower case, IPv4-mapped IPv6 (`::ffff:10.1.2.3`) as IPv4; undefined when not an IP. */
export function normalizeIp(text: string): string | undefined {
  const ip = text.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped && net.isIPv4(mapped[1] as string)) return mapped[1];
  return net.isIP(ip) === 0 ? undefined : ip;
}

/**
 * The IP of a grpc-js peer string: "127.0.0.1:5000", "ipv4:127.0.0.1:5000", "[::1]:5000", and, from a server bound
 * on "::", unbracketed "::1:5000" or "::ffff:127.0.0.1:5000" (the port is what follows the last colon).
 */
export function peerHost(peer: string): string | undefined {
  const text = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(text);
  if (bracketed) return normalizeIp(bracketed[1] as string);
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || !/^\d+$/.test(text.slice(colon + 1))) return undefined;
  return normalizeIp(text.slice(0, colon));
}

function isLoopbackIp(ip: string): boolean {
  return ip === '::1' || (net.isIPv4(ip) && ip.startsWith('127.'));
}

/** This machine's own addresses (a peer connecting from one of them runs here: its loopback is ours). */
function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const ip = normalizeIp(a.address.replace(/%.*$/, ''));
      if (ip !== undefined) out.add(ip);
    }
  }
  return out;
}

/**
 * Where a proxy's admin server is scraped: host:port, or why it is not. Only at the IP the proxy's xDS stream comes
 * from (a wildcard bind is reached there), or on loopback when the proxy runs on this machine: a proxy cannot make
 * the control plane fetch from any other address it names. `local` is this machine's addresses.
 */
export function adminTarget(
  p: ProxyStatus,
  local: ReadonlySet<string> = localAddresses(),
): { address: string } | { error: string } {
  const meta = p.node.metadata;
  const port = Number(meta[NODE_META.adminPort]);
  const announced =
    typeof meta[NODE_META.adminAddress] === 'string' ? (meta[NODE_META.adminAddress] as string) : undefined;
  if (announced === undefined || !Number.isInteger(port) || port < 1 || port > 65535)
    return { error: `no admin address announced (node metadata ${NODE_META.adminAddress}/${NODE_META.adminPort})` };
  const peer = peerHost(p.peer);
  if (peer === undefined) return { error: `cannot tell where the proxy connects from (peer ${p.peer})` };
  let host: string;
  if (WILDCARDS.has(announced)) host = peer;
  else {
    const ip = normalizeIp(announced.replace(/^\[(.*)\]$/, '$1'));
    if (ip === undefined) return { error: `admin address ${announced} is not an IP address: not scraped` };
    const sameMachine = isLoopbackIp(peer) || local.has(peer);
    if (ip !== peer && !(isLoopbackIp(ip) && sameMachine))
      return {
        error:
          `admin address ${announced} is not where the proxy connects from (${peer}): not scraped (the admin ` +
          'server must listen on the address the proxy reaches the control plane from, or on loopback beside it)',
      };
    host = ip;
  }
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

async function scrape(
  p: ProxyStatus,
  local: ReadonlySet<string>,
  keep: (name: string) => boolean,
  timeoutMs: number,
): Promise<ProxyStatsMessage> {
  const service = p.node.metadata[NODE_META.service];
  const target = adminTarget(p, local);
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
  const local = localAddresses();
  const results = await Promise.all([...byNode.values()].map((p) => scrape(p, local, keep, timeoutMs)));
  results.sort((a, b) => (a.service + a.node_id < b.service + b.node_id ? -1 : 1));
  return { collected_at: new Date(started).toISOString(), collected_at_ms: started, proxies: results };
}
