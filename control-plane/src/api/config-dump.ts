// ConfigDump: the xDS resources the control plane holds for one connected proxy, with versions and ACK/NACK state.
import { status } from '@grpc/grpc-js';
import type { NodeInfo } from '@trellis/node-contract';
import { decodeAny, TYPE_URLS, type XdsTypeKey } from '@trellis/xds-protos';
import type { Snapshot } from '../cache/snapshot.ts';
import { toStruct } from '../common/struct.ts';
import { structToJson } from '../common/struct-json.ts';
import type { ProxyStatus, ProxyTracker, TypeStatus } from '../xds/proxy-status.ts';
import { ApiError } from './errors.ts';
import type { ConfigDumpResponseMessage, DumpedResourceMessage, TypeDumpMessage } from './messages.ts';
import { proxyToMessage, typeToMessage } from './proxy-status.ts';

/** The snapshot a node reads (its group's), if one is published. */
export interface SnapshotSource {
  snapshotFor(node: NodeInfo): Snapshot | undefined;
}

/** Listeners first, like Envoy's config dump; the order an operator reads a proxy's config in. */
const DUMP_ORDER: readonly XdsTypeKey[] = ['listener', 'route', 'cluster', 'endpoint', 'secret'];

function isStruct(v: Record<string, unknown>): boolean {
  const keys = Object.keys(v);
  if (keys.length !== 1 || keys[0] !== 'fields') return false;
  const fields = v['fields'];
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return false;
  return Object.values(fields).every(
    (f) => typeof f === 'object' && f !== null && Object.keys(f).length === 1 && Object.keys(f)[0]?.endsWith('Value'),
  );
}

/** Decoded protobuf with google.protobuf.Struct values (metadata, JSON log formats) shown as the JSON they hold. */
export function readable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readable);
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, unknown>;
  if (isStruct(obj)) return structToJson(obj);
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, readable(v)]));
}

/** The newest stream of a node id (a proxy that reconnected may briefly have two). */
function findProxy(proxies: ProxyTracker, nodeId: string): ProxyStatus {
  const matching = proxies.list().filter((p) => p.node.id === nodeId);
  matching.sort((a, b) => Number(b.streamId) - Number(a.streamId));
  const found = matching[0];
  if (found) return found;
  const ids = [...new Set(proxies.list().map((p) => p.node.id))].sort();
  const known = ids.length === 0 ? 'no proxies are connected' : `connected: ${ids.join(', ')}`;
  throw new ApiError(status.NOT_FOUND, `proxy "${nodeId}" is not connected (${known})`);
}

function covers(t: TypeStatus | undefined, name: string): boolean {
  if (!t) return false;
  return t.subscribed.includes('*') || t.subscribed.includes(name);
}

export function configDump(
  proxies: ProxyTracker,
  snapshots: SnapshotSource,
  nodeId: string,
): ConfigDumpResponseMessage {
  if (nodeId === '') throw new ApiError(status.INVALID_ARGUMENT, 'node_id: required (see trellisctl proxy-status)');
  const proxy = findProxy(proxies, nodeId);
  const snapshot = snapshots.snapshotFor(proxy.node);
  const types: TypeDumpMessage[] = [];
  for (const type of DUMP_ORDER) {
    const resources = snapshot?.resources(type);
    const typeStatus = proxy.types.find((t) => t.typeUrl === TYPE_URLS[type]);
    if ((resources?.size ?? 0) === 0 && !typeStatus) continue;
    const dumped: DumpedResourceMessage[] = [];
    for (const r of resources?.values() ?? []) {
      if (!covers(typeStatus, r.name)) continue;
      const config = readable(decodeAny({ type_url: r.typeUrl, value: r.value })) as Record<string, unknown>;
      dumped.push({ name: r.name, version: r.version, config: toStruct(config) });
    }
    types.push({
      type_url: TYPE_URLS[type],
      version: snapshot?.typeVersion(type) ?? '',
      status: typeStatus ? typeToMessage(typeStatus) : null,
      resources: dumped,
    });
  }
  return { proxy: proxyToMessage(proxy), snapshot_version: snapshot?.version ?? '', types };
}
