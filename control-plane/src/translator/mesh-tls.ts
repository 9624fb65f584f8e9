// Mesh mTLS as Envoy transport sockets, for sidecars that hold a workload certificate: clusters take TLS to endpoints
// marked tlsMode=mesh (their proxy holds one too) and plaintext to the rest (auto mTLS); the inbound listener
// terminates mTLS, and in PERMISSIVE mode also takes plaintext on the same port (told apart by tls_inspector). The
// trust bundle travels over SDS (the Secret `ROOTCA` on ADS), so a root rotation changes one resource, not every
// cluster and listener.

import { serviceSpiffeId } from '@trellis/identity';
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { TLS_MODE_MATCH } from './endpoints.ts';
import { struct } from './proto-values.ts';

/** What mTLS needs from the control plane: the trust domain, the roots to trust (PEM), the mesh-wide mode. */
export interface MeshIdentity {
  trustDomain: string;
  /** PEM roots every workload trusts (rotation: the old and the new root together). */
  trustBundle: string;
  /** PERMISSIVE: inbound takes mTLS and plaintext; STRICT: mTLS only. */
  mode: 'permissive' | 'strict';
}

/**
 * The workload certificate's secret name: each proxy provides it itself (keys never leave the proxy), as a secret
 * with no sds_config (Envoy: a static secret of that name; Istio's istio-agent serves the same name).
 */
export const WORKLOAD_SECRET = 'default';
/** The trust bundle's secret name (as Istio's), served over ADS. */
export const TRUST_BUNDLE_SECRET = 'ROOTCA';

export { serviceSpiffeId };

function commonTlsContext(
  alpn: readonly string[],
  san: { exact: string } | { prefix: string },
): Record<string, unknown> {
  return {
    tls_params: { tls_minimum_protocol_version: 'TLSv1_3' },
    ...(alpn.length > 0 ? { alpn_protocols: [...alpn] } : {}),
    tls_certificate_sds_secret_configs: [{ name: WORKLOAD_SECRET }],
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: san }] },
      validation_context_sds_secret_config: {
        name: TRUST_BUNDLE_SECRET,
        sds_config: { ads: {}, resource_api_version: 'V3' },
      },
    },
  };
}

const bundleSecrets = new Map<string, Record<string, unknown>>();

/** The Secret `ROOTCA`: the mesh trust bundle as a validation context (one object per bundle). */
export function trustBundleSecret(identity: MeshIdentity): Record<string, unknown> {
  let secret = bundleSecrets.get(identity.trustBundle);
  if (secret === undefined) {
    if (bundleSecrets.size > 4) bundleSecrets.clear();
    secret = {
      name: TRUST_BUNDLE_SECRET,
      validation_context: { trusted_ca: { inline_bytes: Buffer.from(identity.trustBundle).toString('base64') } },
    };
    bundleSecrets.set(identity.trustBundle, secret);
  }
  return secret;
}

/** ALPN by the cluster's protocol: h2 for HTTP2/GRPC ports, http/1.1 for HTTP, none for TCP. */
function alpnOf(protocol: string | undefined): string[] {
  if (protocol === 'HTTP2' || protocol === 'GRPC') return ['h2'];
  if (protocol === 'HTTP') return ['http/1.1'];
  return [];
}

const tlsClusters = new Map<string, WeakMap<Record<string, unknown>, Record<string, unknown>>>();

/**
 * A service cluster with transport_socket_matches: mTLS (verifying the service's SPIFFE id) to endpoints whose
 * metadata says tlsMode=mesh, plaintext to the others. Memoized per cluster object and identity.
 */
export function withMeshTls(
  cluster: Record<string, unknown>,
  service: string,
  protocol: string | undefined,
  identity: MeshIdentity,
): Record<string, unknown> {
  const key = identity.trustDomain;
  let byCluster = tlsClusters.get(key);
  if (byCluster === undefined) {
    if (tlsClusters.size > 4) tlsClusters.clear();
    byCluster = new WeakMap();
    tlsClusters.set(key, byCluster);
  }
  const done = byCluster.get(cluster);
  if (done !== undefined) return done;
  const upstream = {
    '@type': typeUrl(EXTENSION_TYPES.upstreamTlsContext),
    common_tls_context: commonTlsContext(alpnOf(protocol), {
      exact: serviceSpiffeId(identity.trustDomain, service),
    }),
  };
  const tls = {
    ...cluster,
    transport_socket_matches: [
      {
        name: 'mesh-mtls',
        match: struct({ [TLS_MODE_MATCH.key]: TLS_MODE_MATCH.value }),
        transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: upstream },
      },
      {
        name: 'plaintext',
        match: struct({}),
        transport_socket: {
          name: 'envoy.transport_sockets.raw_buffer',
          typed_config: { '@type': typeUrl(EXTENSION_TYPES.rawBuffer) },
        },
      },
    ],
  };
  byCluster.set(cluster, tls);
  return tls;
}

/**
 * The TLS chain's connection manager tells the app who called (X-Forwarded-Client-Cert: By, Hash and URI, the
 * caller's SPIFFE id), replacing whatever the request carried; the plaintext chain keeps Envoy's default (SANITIZE).
 */
function withClientCertDetails(chain: Record<string, unknown>): Record<string, unknown> {
  const filters = chain['filters'] as Record<string, unknown>[] | undefined;
  if (filters === undefined) return chain;
  return {
    ...chain,
    filters: filters.map((f) => {
      const config = f['typed_config'] as Record<string, unknown> | undefined;
      if (config?.['@type'] !== typeUrl(EXTENSION_TYPES.httpConnectionManager)) return f;
      return {
        ...f,
        typed_config: {
          ...config,
          forward_client_cert_details: 'SANITIZE_SET',
          set_current_client_cert_details: { uri: true },
        },
      };
    }),
  };
}

/**
 * An inbound listener terminating mesh mTLS (any workload of the trust domain as client): STRICT, one TLS chain;
 * PERMISSIVE, a TLS chain and a plaintext chain with the same filters, chosen by tls_inspector.
 */
export function inboundWithMeshTls(
  listener: Record<string, unknown>,
  protocol: string,
  identity: MeshIdentity,
): Record<string, unknown> {
  const [chain] = listener['filter_chains'] as Record<string, unknown>[];
  const downstream = {
    '@type': typeUrl(EXTENSION_TYPES.downstreamTlsContext),
    common_tls_context: commonTlsContext(protocol === 'TCP' ? [] : ['h2', 'http/1.1'], {
      prefix: `spiffe://${identity.trustDomain}/`,
    }),
    require_client_certificate: { value: true },
  };
  const tlsChain = {
    ...withClientCertDetails(chain as Record<string, unknown>),
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: downstream },
  };
  if (identity.mode === 'strict') return { ...listener, filter_chains: [tlsChain] };
  return {
    ...listener,
    listener_filters: [
      {
        name: 'envoy.filters.listener.tls_inspector',
        typed_config: { '@type': typeUrl(EXTENSION_TYPES.tlsInspector) },
      },
    ],
    filter_chains: [
      { ...tlsChain, filter_chain_match: { transport_protocol: 'tls' } },
      { ...chain, filter_chain_match: { transport_protocol: 'raw_buffer' } },
    ],
  };
}
