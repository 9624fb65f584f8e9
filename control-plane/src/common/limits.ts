// Every bound the control plane enforces on operator input and xDS clients, in one place (docs/hardening.md lists
// them with their reasons).

const KiB = 1024;
const MiB = 1024 * KiB;

/** Label keys and values, as Kubernetes bounds them: an optional DNS-subdomain prefix, a name and a value. */
export const MAX_LABEL_PREFIX_CHARS = 253;
export const MAX_LABEL_NAME_CHARS = 63;
export const MAX_LABEL_VALUE_CHARS = 63;

/**
 * One operator resource, encoded as the operator API sends it (admin.v1.Resource, protobuf). Sixteen of the
 * largest fit in one 4 MiB gRPC message, and a List page of them stays under any client's default receive limit.
 */
export const MAX_RESOURCE_BYTES = 256 * KiB;

/** List pagination (AIP-158): page_size 0 means the default; larger values are lowered to the maximum. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** A List page also stops before its resources pass this many encoded bytes (it always holds at least one). */
export const MAX_PAGE_BYTES = 3 * MiB;

/** The operator API server's largest request (an Apply batch): gRPC's default, stated. */
export const MAX_API_REQUEST_BYTES = 4 * MiB;
/** trellisctl's largest reply (config dumps of large meshes pass 4 MiB; the CLI trusts the server it calls). */
export const MAX_CLI_REPLY_BYTES = 64 * MiB;

/** The xDS server's largest DiscoveryRequest: gRPC's default, Istio's default, what go-control-plane keeps. */
export const MAX_XDS_REQUEST_BYTES = 4 * MiB;
/** An xDS client's node (envoy.config.core.v3.Node) encoded; Envoy's own, with its extension list, is tens of KiB. */
export const MAX_NODE_BYTES = 128 * KiB;
/** node.metadata encoded; a Trellis sidecar sends < 1 KiB, an Istio proxy a few KiB. */
export const MAX_NODE_METADATA_BYTES = 64 * KiB;

/** Text an xDS client chooses (a type URL, a NACK message) as logged and kept for proxy status; the rest is cut. */
export const MAX_CLIENT_TEXT_CHARS = 4096;

/**
 * Endpoint weights, static or announced (TRELLIS_WEIGHT). 128 steps express any useful ratio between endpoints and
 * keep a locality's weight (the sum of its endpoints') far from Envoy's uint32 overflow check.
 */
export const MIN_ENDPOINT_WEIGHT = 1;
export const MAX_ENDPOINT_WEIGHT = 128;

/** Repeated xDS warnings: the first few per interval are logged, then one summary line with the count. */
export const WARNING_BURST = 5;
export const WARNING_INTERVAL_MS = 10_000;

/** A byte count as limits are stated: "256 KiB", "3.5 MiB", "812 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB) return `${Number((bytes / MiB).toFixed(1))} MiB`;
  if (bytes >= KiB) return `${Number((bytes / KiB).toFixed(1))} KiB`;
  return `${bytes} bytes`;
}
