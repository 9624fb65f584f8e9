// The xDS client identity (envoy.config.core.v3.Node) as Trellis uses it, and the node-metadata keys proxies announce.

export interface Locality {
  region: string;
  zone: string;
  sub_zone: string;
}

/** A decoded Node: metadata is the Struct converted to plain JSON. */
export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
  locality: Locality;
  userAgentName: string;
  userAgentVersion: string;
  /** Client features the node advertises (e.g. 'envoy.lb.does_not_support_overprovisioning'). */
  clientFeatures: string[];
}

/**
 * Node metadata keys a Trellis sidecar (or any xDS client that wants to register an endpoint) sets.
 * TRELLIS_PROXY: 'sidecar' marks a Trellis sidecar; absent means a generic xDS client (gRPC proxyless or Envoy).
 * TRELLIS_SERVICE / TRELLIS_ADDRESS / TRELLIS_PORT: the service this proxy fronts and the address:port peers
 * should use to reach it (its inbound listener). TRELLIS_LABELS: a Struct of string labels (e.g. version: v2).
 * TRELLIS_WEIGHT: optional endpoint weight. The zone comes from node.locality.zone.
 */
export const NODE_META = {
  proxy: 'TRELLIS_PROXY',
  service: 'TRELLIS_SERVICE',
  address: 'TRELLIS_ADDRESS',
  port: 'TRELLIS_PORT',
  labels: 'TRELLIS_LABELS',
  weight: 'TRELLIS_WEIGHT',
} as const;

/** The kinds of xDS client the translator tailors resources for. */
export type ClientKind = 'proxyless' | 'sidecar' | 'envoy';

/** Classifies a node: Trellis sidecars announce themselves, Envoy sets user_agent_name 'envoy', else proxyless gRPC. */
export function clientKindOf(node: NodeInfo): ClientKind {
  if (node.metadata[NODE_META.proxy] === 'sidecar') return 'sidecar';
  if (node.userAgentName === 'envoy') return 'envoy';
  return 'proxyless';
}
