// The xDS client identity (envoy.config.core.v3.Node) as Trellis uses it, the node-metadata keys proxies announce,
// and the snapshot group a node reads (one per client kind; one per sidecar shape for Trellis sidecars).

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
 * should use to reach it (its inbound listener, default 15006). TRELLIS_LABELS: a Struct of string labels (e.g.
 * version: v2). TRELLIS_WEIGHT: optional endpoint weight. The zone comes from node.locality.zone.
 * Sidecar listener shape: TRELLIS_APP_PORT (the app's port on loopback, the inbound listener's target),
 * TRELLIS_INBOUND_ADDRESS (inbound bind address, default 0.0.0.0), TRELLIS_OUTBOUND_PORT (default 15001),
 * TRELLIS_TCP_UPSTREAMS ('redis:6379=16379,cache:7000=17000': service:port = local port on 127.0.0.1).
 */
export const NODE_META = {
  proxy: 'TRELLIS_PROXY',
  service: 'TRELLIS_SERVICE',
  address: 'TRELLIS_ADDRESS',
  port: 'TRELLIS_PORT',
  labels: 'TRELLIS_LABELS',
  weight: 'TRELLIS_WEIGHT',
  appPort: 'TRELLIS_APP_PORT',
  inboundAddress: 'TRELLIS_INBOUND_ADDRESS',
  outboundPort: 'TRELLIS_OUTBOUND_PORT',
  tcpUpstreams: 'TRELLIS_TCP_UPSTREAMS',
  /** Where the proxy's admin server answers (the control plane reads its metrics there: trellisctl top). */
  adminAddress: 'TRELLIS_ADMIN_ADDRESS',
  adminPort: 'TRELLIS_ADMIN_PORT',
  /**
   * 'true' when the proxy holds a workload certificate from the mesh CA: its inbound listener terminates mesh mTLS
   * and its endpoint is marked for TLS (callers with a certificate connect to it over mTLS).
   */
  mtls: 'TRELLIS_MTLS',
  /** The Gateway resource this proxy serves (an edge gateway: its listeners come from the Gateway, it announces no endpoint). */
  gateway: 'TRELLIS_GATEWAY',
} as const;

/** The kinds of xDS client the translator tailors resources for. */
export type ClientKind = 'proxyless' | 'sidecar' | 'envoy';

const CLIENT_KINDS: readonly ClientKind[] = ['proxyless', 'sidecar', 'envoy'];

/** Classifies a node: Trellis sidecars announce themselves, Envoy sets user_agent_name 'envoy', else proxyless gRPC. */
export function clientKindOf(node: NodeInfo): ClientKind {
  if (node.metadata[NODE_META.proxy] === 'sidecar') return 'sidecar';
  if (node.userAgentName === 'envoy') return 'envoy';
  return 'proxyless';
}

export const DEFAULT_INBOUND_ADDRESS = '0.0.0.0';
export const DEFAULT_INBOUND_PORT = 15006;
export const DEFAULT_OUTBOUND_PORT = 15001;

/** A plain-TCP upstream the app reaches on 127.0.0.1:localPort, forwarded to the cluster of service:port. */
export interface TcpUpstream {
  service: string;
  port: number;
  localPort: number;
}

/** What shapes a sidecar's socket listeners (and so its snapshot group). */
export interface SidecarParams {
  /** The service the sidecar fronts; no inbound listener without it. */
  service?: string;
  /** The app's port on loopback; no inbound listener without it. */
  appPort?: number;
  inboundAddress: string;
  inboundPort: number;
  outboundPort: number;
  tcpUpstreams: TcpUpstream[];
  /** The sidecar holds a mesh workload certificate (TRELLIS_MTLS): it gets mTLS listeners and clusters. */
  mtls?: boolean;
  /** The Gateway it serves (TRELLIS_GATEWAY): its listeners are the Gateway's, not a sidecar's inbound/outbound. */
  gateway?: string;
}

function portOf(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/** The TRELLIS_TCP_UPSTREAMS value for `upstreams` ('svc:port=localPort,…'; parseTcpUpstreams reads it back). */
export function formatTcpUpstreams(upstreams: readonly TcpUpstream[]): string {
  return upstreams.map((u) => `${u.service}:${u.port}=${u.localPort}`).join(',');
}

/** Parses 'svc:port=localPort,…'; malformed entries are left out (the rest still apply). */
export function parseTcpUpstreams(value: unknown): TcpUpstream[] {
  if (typeof value !== 'string') return [];
  const out: TcpUpstream[] = [];
  for (const entry of value.split(',')) {
    const m = /^\s*([^:=\s]+):(\d+)\s*=\s*(\d+)\s*$/.exec(entry);
    if (!m) continue;
    const port = portOf(m[2]);
    const localPort = portOf(m[3]);
    if (port === undefined || localPort === undefined) continue;
    out.push({ service: m[1] as string, port, localPort });
  }
  return out;
}

/** A sidecar's listener parameters from its node metadata; unusable values fall back to defaults (or absence). */
export function sidecarParamsOf(node: NodeInfo): SidecarParams {
  const meta = node.metadata;
  const service = meta[NODE_META.service];
  const appPort = portOf(meta[NODE_META.appPort]);
  const inboundAddress = meta[NODE_META.inboundAddress];
  const params: SidecarParams = {
    inboundAddress:
      typeof inboundAddress === 'string' && inboundAddress !== '' ? inboundAddress : DEFAULT_INBOUND_ADDRESS,
    inboundPort: portOf(meta[NODE_META.port]) ?? DEFAULT_INBOUND_PORT,
    outboundPort: portOf(meta[NODE_META.outboundPort]) ?? DEFAULT_OUTBOUND_PORT,
    tcpUpstreams: parseTcpUpstreams(meta[NODE_META.tcpUpstreams]),
  };
  if (typeof service === 'string' && service !== '') params.service = service;
  if (appPort !== undefined) params.appPort = appPort;
  if (meta[NODE_META.mtls] === 'true') params.mtls = true;
  const gateway = meta[NODE_META.gateway];
  if (typeof gateway === 'string' && gateway !== '') params.gateway = gateway;
  return params;
}

const SIDECAR_GROUP_PREFIX = 'sidecar:';
const PROXYLESS_GROUP_PREFIX = 'proxyless:';

/**
 * The certificate provider instance a proxyless gRPC client or server names in its bootstrap
 * (`certificate_providers.trellis`, gRPC's `file_watcher` plugin over the files trellis-agent keeps) when it
 * announces TRELLIS_MTLS=true: the control plane's xDS security config (gRFC A29) refers to it by this name.
 */
export const PROXYLESS_CERT_PROVIDER = 'trellis';

/** What shapes a proxyless gRPC node's resources beyond the mesh's (and so its snapshot group). */
export interface ProxylessParams {
  /** Its bootstrap has the `trellis` certificate provider (TRELLIS_MTLS=true): it takes part in mesh mTLS. */
  mtls: boolean;
  /**
   * An xDS-enabled gRPC server (gRFC A36) announcing TRELLIS_SERVICE and TRELLIS_PORT: the Listener its
   * `server_listener_resource_name_template` names is made for this address and port.
   */
  server?: { service: string; address: string; port: number };
}

/** A proxyless node's params from its metadata. */
export function proxylessParamsOf(node: NodeInfo): ProxylessParams {
  const meta = node.metadata;
  const params: ProxylessParams = { mtls: meta[NODE_META.mtls] === 'true' };
  const service = meta[NODE_META.service];
  const port = portOf(meta[NODE_META.port]);
  const address = meta[NODE_META.inboundAddress];
  if (typeof service === 'string' && service !== '' && port !== undefined)
    params.server = {
      service,
      address: typeof address === 'string' && address !== '' ? address : DEFAULT_INBOUND_ADDRESS,
      port,
    };
  return params;
}

/** Canonical JSON of sidecar params: fixed key order, so equal params give equal group keys. */
function canonicalParams(p: SidecarParams): string {
  return JSON.stringify({
    service: p.service,
    appPort: p.appPort,
    inboundAddress: p.inboundAddress,
    inboundPort: p.inboundPort,
    outboundPort: p.outboundPort,
    tcpUpstreams: p.tcpUpstreams.map((u) => ({ service: u.service, port: u.port, localPort: u.localPort })),
    // Only when set: the groups of sidecars without a certificate keep their keys.
    mtls: p.mtls === true ? true : undefined,
    gateway: p.gateway,
  });
}

/**
 * The snapshot group of a node: the client kind for proxyless clients and Envoy; for Trellis sidecars
 * `sidecar:` + canonical JSON of their listener parameters, so sidecars of the same shape share a snapshot.
 */
export function nodeGroupOf(node: NodeInfo): string {
  const kind = clientKindOf(node);
  if (kind === 'sidecar') return SIDECAR_GROUP_PREFIX + canonicalParams(sidecarParamsOf(node));
  if (kind === 'proxyless') {
    const p = proxylessParamsOf(node);
    // Plain proxyless clients keep sharing the one `proxyless` group.
    if (!p.mtls && p.server === undefined) return kind;
    const server = p.server && { service: p.server.service, address: p.server.address, port: p.server.port };
    return PROXYLESS_GROUP_PREFIX + JSON.stringify({ mtls: p.mtls, server });
  }
  return kind;
}

function isClientKind(group: string): group is ClientKind {
  return (CLIENT_KINDS as readonly string[]).includes(group);
}

function isTcpUpstream(v: unknown): v is TcpUpstream {
  if (typeof v !== 'object' || v === null) return false;
  const u = v as Record<string, unknown>;
  return typeof u['service'] === 'string' && portOf(u['port']) !== undefined && portOf(u['localPort']) !== undefined;
}

/** Reads a group key back into the client kind and (for sidecars) its params; undefined for a foreign key. */
export function parseNodeGroup(
  group: string,
): { client: ClientKind; sidecar?: SidecarParams; proxyless?: ProxylessParams } | undefined {
  if (isClientKind(group)) return { client: group };
  if (group.startsWith(PROXYLESS_GROUP_PREFIX)) return parseProxylessGroup(group.slice(PROXYLESS_GROUP_PREFIX.length));
  if (!group.startsWith(SIDECAR_GROUP_PREFIX)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(group.slice(SIDECAR_GROUP_PREFIX.length));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  const inboundPort = portOf(o['inboundPort']);
  const outboundPort = portOf(o['outboundPort']);
  const ups = o['tcpUpstreams'];
  if (typeof o['inboundAddress'] !== 'string' || inboundPort === undefined || outboundPort === undefined) {
    return undefined;
  }
  if (!Array.isArray(ups) || !ups.every(isTcpUpstream)) return undefined;
  const sidecar: SidecarParams = { inboundAddress: o['inboundAddress'], inboundPort, outboundPort, tcpUpstreams: ups };
  if (typeof o['service'] === 'string') sidecar.service = o['service'];
  const appPort = portOf(o['appPort']);
  if (appPort !== undefined) sidecar.appPort = appPort;
  if (o['mtls'] === true) sidecar.mtls = true;
  if (typeof o['gateway'] === 'string' && o['gateway'] !== '') sidecar.gateway = o['gateway'];
  return { client: 'sidecar', sidecar };
}

function parseProxylessGroup(json: string): { client: 'proxyless'; proxyless: ProxylessParams } | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  const proxyless: ProxylessParams = { mtls: o['mtls'] === true };
  const server = o['server'] as Record<string, unknown> | undefined;
  if (server !== undefined) {
    const port = portOf(server['port']);
    if (typeof server['service'] !== 'string' || typeof server['address'] !== 'string' || port === undefined)
      return undefined;
    proxyless.server = { service: server['service'], address: server['address'], port };
  }
  return { client: 'proxyless', proxyless };
}
