// `trellisctl config-dump PROXY [-o yaml|json]`: what the control plane holds for one proxy, per xDS type.
import { stringify } from 'yaml';
import type { ConfigDumpResponseMessage, ProxyMessage } from '../api/messages.ts';
import { fromStruct } from '../common/struct.ts';
import type { CommandContext } from './context.ts';
import { CliError } from './io.ts';
import { syncState } from './proxy-status.ts';

export const CONFIG_DUMP_FORMATS = ['yaml', 'json'] as const;

/** The proxy's identity in reading order (its per-type status is shown with each type instead). */
function proxyIdentity(p: ProxyMessage | null): Record<string, unknown> | null {
  if (!p) return null;
  return {
    node_id: p.node_id,
    service: p.service,
    client_kind: p.client_kind,
    cluster: p.cluster,
    protocol: p.protocol,
    peer: p.peer,
    user_agent: p.user_agent,
    connected_at: p.connected_at,
    stream_id: p.stream_id,
  };
}

/** The response as plain JSON: proto field names, each resource's config as an object, a `state` per type. */
export function configDumpDocument(res: ConfigDumpResponseMessage): Record<string, unknown> {
  return {
    proxy: proxyIdentity(res.proxy),
    snapshot_version: res.snapshot_version,
    types: res.types.map((t) => ({
      type_url: t.type_url,
      version: t.version,
      state: syncState(t.status ?? undefined),
      status: t.status,
      resources: t.resources.map((r) => ({ name: r.name, version: r.version, config: fromStruct(r.config) })),
    })),
  };
}

export async function configDumpCommand(ctx: CommandContext, proxy: string, output: string): Promise<void> {
  if (!(CONFIG_DUMP_FORMATS as readonly string[]).includes(output))
    throw new CliError(`unknown output format "${output}", expected one of ${CONFIG_DUMP_FORMATS.join('|')}`);
  const doc = configDumpDocument(await ctx.client().configDump(proxy));
  ctx.io.stdout.write(output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 }));
}
