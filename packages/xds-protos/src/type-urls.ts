// The xDS resource type URLs Trellis serves, in make-before-break push order (CDS, EDS, LDS, RDS, SDS).
export const TYPE_URLS = {
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

export type XdsTypeKey = keyof typeof TYPE_URLS;
export type XdsTypeUrl = (typeof TYPE_URLS)[XdsTypeKey];

/** Push order for make-before-break: clusters and endpoints before the listeners and routes that use them. */
export const XDS_TYPES: readonly XdsTypeKey[] = ['cluster', 'endpoint', 'listener', 'route', 'secret'];

const byUrl = new Map<string, XdsTypeKey>(Object.entries(TYPE_URLS).map(([k, v]) => [v, k as XdsTypeKey]));

/** The type key for a type URL, or undefined when Trellis does not serve that type. */
export function typeUrlOf(url: string): XdsTypeKey | undefined {
  return byUrl.get(url);
}
