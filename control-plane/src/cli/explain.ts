// `trellisctl explain --from SERVICE|NODE --to URL [-X METHOD] [-H 'name: value'…] [-o text|json]`: where one
// request from a proxy would go and why, as that proxy computes it (its admin /explain runs the sidecar's own route
// matching on its current config and reads its clusters' hosts), found through the control plane's proxy list.
import type { Explanation } from '@trellis/node-contract';
import type { ProxyMessage } from '../api/messages.ts';
import type { CommandContext } from './context.ts';
import { CliError } from './io.ts';

export interface ExplainOptions {
  from: string;
  to: string;
  method: string;
  headers: readonly string[];
  listener?: string;
  output: string;
}

/** The proxy `from` names: a node id, else the first (by node id) proxy of that service. */
function pickProxy(proxies: readonly ProxyMessage[], from: string): ProxyMessage {
  const byId = proxies.find((p) => p.node_id === from);
  if (byId !== undefined) return byId;
  const ofService = proxies.filter((p) => p.service === from).sort((a, b) => (a.node_id < b.node_id ? -1 : 1));
  const first = ofService[0];
  if (first !== undefined) return first;
  const known = proxies.map((p) => (p.service === '' ? p.node_id : `${p.node_id} (${p.service})`)).join(', ');
  throw new CliError(`no connected proxy is "${from}" (node id or service); connected: ${known || 'none'}`);
}

const ms = (n: number): string => (n === 0 ? 'none' : n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);

export function formatExplanation(proxy: ProxyMessage, e: Explanation): string {
  const out: string[] = [
    `proxy ${proxy.node_id}${proxy.service === '' ? '' : ` (service ${proxy.service})`}, listener ${e.listener.name} ${e.listener.address}:${e.listener.port}`,
    `  HTTP filters: ${e.listener.filters.join(' → ')}`,
    `route configuration ${e.routeConfig}${e.virtualHost === undefined ? '' : `, virtual host ${e.virtualHost}`}`,
  ];
  for (const n of e.notMatched) out.push(`  not route ${JSON.stringify(n.route)}: ${n.reason}`);
  if (e.route === undefined) {
    out.push(`no route: ${e.noRoute ?? 'none matched'} (the request gets 404, response flag NR)`);
    return `${out.join('\n')}\n`;
  }
  const r = e.route;
  out.push(`  matched route ${JSON.stringify(r.name)}: ${r.action}`);
  if (r.directResponse !== undefined) out.push(`  answered by the proxy with ${r.directResponse.status}`);
  for (const f of r.filters ?? [])
    if (f.does !== undefined || f.config !== 'listener')
      out.push(`  filter ${f.name} (${f.config} config)${f.does === undefined ? '' : `: ${f.does}`}`);
  if (r.timeoutMs !== undefined) out.push(`  timeout ${ms(r.timeoutMs)}`);
  if (r.retry !== undefined)
    out.push(
      `  retries ${r.retry.numRetries} (per try ${ms(r.retry.perTryTimeoutMs)}) on ${r.retry.retryOn.join(', ') || '-'}`,
    );
  const total = r.clusters.reduce((sum, c) => sum + c.weight, 0);
  for (const c of r.clusters) {
    const share = r.clusters.length > 1 && total > 0 ? ` ${((100 * c.weight) / total).toFixed(0)}%` : '';
    out.push(`cluster ${c.name}${share} (${c.lbPolicy}), ${c.hosts.length} host(s):`);
    for (const h of c.hosts)
      out.push(
        `  ${h.address}  ${h.health.length === 0 ? 'healthy' : h.health.join('/')}  weight ${h.weight}${h.zone === '' ? '' : `  zone ${h.zone}`}`,
      );
  }
  return `${out.join('\n')}\n`;
}

export async function explainCommand(ctx: CommandContext, opts: ExplainOptions): Promise<void> {
  if (opts.output !== 'text' && opts.output !== 'json')
    throw new CliError(`unknown output format "${opts.output}", expected text|json`);
  const proxy = pickProxy((await ctx.client().proxyStatus()).proxies, opts.from);
  if ((proxy.admin_address ?? '') === '')
    throw new CliError(
      `proxy ${proxy.node_id} has no admin address the control plane may reach (it announces none, or one elsewhere)`,
    );
  const q = new URLSearchParams({ url: opts.to, method: opts.method });
  for (const h of opts.headers) q.append('header', h);
  if (opts.listener !== undefined) q.set('listener', opts.listener);
  let res: Response;
  try {
    res = await fetch(`http://${proxy.admin_address}/explain?${q}`, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new CliError(
      `cannot reach the admin server of ${proxy.node_id} at ${proxy.admin_address}: ${(err as Error).message}`,
    );
  }
  const body = await res.text();
  if (res.status !== 200) throw new CliError(`${proxy.node_id} /explain: ${res.status} ${body.trim()}`);
  if (opts.output === 'json') {
    ctx.io.stdout.write(`${JSON.stringify({ proxy: proxy.node_id, ...(JSON.parse(body) as object) }, null, 2)}\n`);
    return;
  }
  ctx.io.stdout.write(formatExplanation(proxy, JSON.parse(body) as Explanation));
}
