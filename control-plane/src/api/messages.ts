// The operator API's wire messages (as @grpc/proto-loader objects) and conversions to and from Resources.

import { fromStruct, type StructMessage, toStruct } from '../common/struct.ts';
import type { Resource } from '../resources/types.ts';

export interface MetadataMessage {
  name: string;
  labels: Record<string, string>;
  generation: number;
  created_at: string;
  updated_at: string;
}

export interface ResourceMessage {
  api_version: string;
  kind: string;
  metadata: MetadataMessage | null;
  spec: StructMessage | null;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface ApplyResultMessage {
  kind: string;
  name: string;
  action: ApplyAction;
  diff: string;
}

export interface ApplyRequestMessage {
  resources: ResourceMessage[];
  dry_run: boolean;
}

export interface ApplyResponseMessage {
  results: ApplyResultMessage[];
  revision: number;
}

export interface KindNameMessage {
  kind: string;
  name: string;
}

export interface DeleteRequestMessage extends KindNameMessage {
  dry_run: boolean;
}

export interface DeleteResponseMessage {
  result: ApplyResultMessage;
  revision: number;
}

export interface ListRequestMessage {
  kind: string;
  page_size: number;
  page_token: string;
}

export interface ListResponseMessage {
  resources: ResourceMessage[];
  revision: number;
  next_page_token: string;
}

export interface WatchEventMessage {
  type: string;
  resource: ResourceMessage;
  revision: number;
}

export interface NackMessage {
  version: string;
  nonce: string;
  error: string;
  at: string;
}

export interface TypeStatusMessage {
  type_url: string;
  sent_version: string;
  acked_version: string;
  acked_at: string;
  last_nack: NackMessage | null;
  subscribed: string[];
}

export interface ProxyMessage {
  node_id: string;
  cluster: string;
  service: string;
  peer: string;
  protocol: string;
  connected_at: string;
  types: TypeStatusMessage[];
  stream_id: string;
  client_kind: string;
  user_agent: string;
  /** The SPIFFE id the proxy's client certificate proved; '' on the plaintext xDS port. */
  identity: string;
  /** host:port of its admin server where the control plane may reach it ('' when none: mesh-stats.ts adminTarget). */
  admin_address: string;
}

export interface ProxyStatusResponseMessage {
  proxies: ProxyMessage[];
}

export interface DumpedResourceMessage {
  name: string;
  version: string;
  config: StructMessage | null;
}

export interface TypeDumpMessage {
  type_url: string;
  version: string;
  status: TypeStatusMessage | null;
  resources: DumpedResourceMessage[];
}

export interface ConfigDumpResponseMessage {
  proxy: ProxyMessage | null;
  snapshot_version: string;
  types: TypeDumpMessage[];
}

export interface CreateJoinTokenRequestMessage {
  service: string;
  namespace: string;
  service_account: string;
  ttl_seconds: number;
}

export interface CreateJoinTokenResponseMessage {
  token: string;
  spiffe_id: string;
  expires_at: string;
}

export interface MeshStatsRequestMessage {
  metric_prefixes: string[];
  timeout_ms: number;
}

export interface SampleMessage {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ProxyStatsMessage {
  node_id: string;
  service: string;
  admin_address: string;
  error: string;
  samples: SampleMessage[];
}

export interface MeshStatsResponseMessage {
  collected_at: string;
  collected_at_ms: number;
  proxies: ProxyStatsMessage[];
}

export function resourceToMessage(r: Resource): ResourceMessage {
  return {
    api_version: r.apiVersion,
    kind: r.kind,
    metadata: {
      name: r.metadata.name,
      labels: { ...(r.metadata.labels ?? {}) },
      generation: r.metadata.generation ?? 0,
      created_at: r.metadata.createdAt ?? '',
      updated_at: r.metadata.updatedAt ?? '',
    },
    spec: toStruct(r.spec as unknown as Record<string, unknown>),
  };
}

/**
 * The document a message stands for, ready for validateResource: empty strings and absent messages become missing
 * fields (so validation reports "required"), store stamps are dropped.
 */
export function messageToDocument(m: Partial<ResourceMessage>): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  if (m.api_version) doc['apiVersion'] = m.api_version;
  if (m.kind) doc['kind'] = m.kind;
  if (m.metadata) {
    const metadata: Record<string, unknown> = {};
    if (m.metadata.name) metadata['name'] = m.metadata.name;
    if (m.metadata.labels && Object.keys(m.metadata.labels).length > 0) metadata['labels'] = { ...m.metadata.labels };
    doc['metadata'] = metadata;
  }
  if (m.spec) doc['spec'] = fromStruct(m.spec);
  return doc;
}

/** A stored resource as received from the API (with generation and timestamps), for display. */
export function messageToResource(m: ResourceMessage): Resource {
  const doc = messageToDocument(m) as unknown as Resource;
  const meta = m.metadata;
  if (meta) {
    if (meta.generation) doc.metadata.generation = meta.generation;
    if (meta.created_at) doc.metadata.createdAt = meta.created_at;
    if (meta.updated_at) doc.metadata.updatedAt = meta.updated_at;
  }
  return doc;
}
