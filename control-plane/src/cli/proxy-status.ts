// `trellisctl proxy-status`: per proxy and xDS type, whether the last config sent was ACKed, is pending, or NACKed.
import type { ProxyMessage, TypeStatusMessage } from '../api/messages.ts';
import type { CommandContext } from './context.ts';
import { renderTable } from './format/table.ts';
import { CliError } from './io.ts';

const TYPE_COLUMNS = [
  ['CDS', 'type.googleapis.com/envoy.config.cluster.v3.Cluster'],
  ['EDS', 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment'],
  ['LDS', 'type.googleapis.com/envoy.config.listener.v3.Listener'],
  ['RDS', 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration'],
  ['SDS', 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret'],
] as const;

const SHORT = new Map<string, string>(TYPE_COLUMNS.map(([short, url]) => [url, short]));

/** NACK: the client rejected the version we last sent; STALE: sent but not (yet) ACKed; '-': nothing sent. */
export function syncState(t: TypeStatusMessage | undefined): string {
  if (!t || t.sent_version === '') return '-';
  if (t.last_nack && t.last_nack.version === t.sent_version) return 'NACK';
  return t.sent_version === t.acked_version ? 'SYNCED' : 'STALE';
}

function lastNack(p: ProxyMessage): string | undefined {
  const nacks = p.types.filter((t) => t.last_nack).sort((a, b) => (a.last_nack!.at < b.last_nack!.at ? 1 : -1));
  const t = nacks[0];
  if (!t?.last_nack) return undefined;
  const type = SHORT.get(t.type_url) ?? t.type_url;
  return `${p.node_id} (${type}, version ${t.last_nack.version}, ${t.last_nack.at}): ${t.last_nack.error}`;
}

export function formatProxyStatus(proxies: readonly ProxyMessage[]): string {
  const rows = proxies.map((p) => [
    p.node_id,
    p.service || '-',
    p.protocol,
    // Who the proxy proved to be on the mTLS xDS port; "plaintext" on the opt-in insecure port.
    p.identity === '' ? 'plaintext' : p.identity,
    ...TYPE_COLUMNS.map(([, url]) => syncState(p.types.find((t) => t.type_url === url))),
  ]);
  let out = renderTable(['NODE', 'SERVICE', 'PROTOCOL', 'IDENTITY', ...TYPE_COLUMNS.map(([short]) => short)], rows);
  const nacks = proxies.map(lastNack).filter((n) => n !== undefined);
  if (nacks.length > 0) out += `\nLast NACK per proxy:\n${nacks.map((n) => `  ${n}\n`).join('')}`;
  return out;
}

export async function proxyStatusCommand(ctx: CommandContext, output: string): Promise<void> {
  if (output !== 'table' && output !== 'json')
    throw new CliError(`unknown output format "${output}", expected table|json`);
  const response = await ctx.client().proxyStatus();
  const { proxies } = response;
  if (output === 'json') {
    // The ProxyStatusResponse message as is (proto field names), like grpcurl would print it.
    ctx.io.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
  } else if (proxies.length === 0) {
    ctx.io.stderr.write('No proxies connected.\n');
  } else {
    ctx.io.stdout.write(formatProxyStatus(proxies));
  }
}
