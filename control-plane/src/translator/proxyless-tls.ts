// Mesh mTLS for proxyless gRPC (gRFC A29): certificates from the certificate provider instance the client's or
// server's bootstrap names (`trellis`: gRPC's file_watcher over the files trellis-agent keeps), the service's SPIFFE id
// checked by SAN. Only for STRICT services: a gRPC server cannot take TLS and plaintext on one port, and gRPC clients
// ignore transport_socket_matches (so a cluster is TLS to all of its endpoints or to none).
import { serviceSpiffeId } from '@trellis/identity';
import { PROXYLESS_CERT_PROVIDER } from '@trellis/node-contract';
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';

/** The bootstrap's certificate provider instance: the workload certificate and the trust bundle both come from it. */
const PROVIDER = {
  identity: { instance_name: PROXYLESS_CERT_PROVIDER, certificate_name: 'default' },
  roots: { instance_name: PROXYLESS_CERT_PROVIDER, certificate_name: 'ROOTCA' },
} as const;

const clusters = new WeakMap<Record<string, unknown>, Record<string, unknown>>();

/**
 * A proxyless client's cluster of a STRICT service: mTLS with its certificate, trusting the mesh roots, accepting
 * only the service's SPIFFE id (gRPC reads `match_subject_alt_names`, not the typed matchers).
 */
export function proxylessMtlsCluster(
  cluster: Record<string, unknown>,
  service: string,
  trustDomain: string,
): Record<string, unknown> {
  const done = clusters.get(cluster);
  if (done !== undefined) return done;
  const tls = {
    ...cluster,
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': typeUrl(EXTENSION_TYPES.upstreamTlsContext),
        common_tls_context: {
          tls_certificate_provider_instance: PROVIDER.identity,
          validation_context: {
            ca_certificate_provider_instance: PROVIDER.roots,
            match_subject_alt_names: [{ exact: serviceSpiffeId(trustDomain, service) }],
          },
        },
      },
    },
  };
  clusters.set(cluster, tls);
  return tls;
}

/** A proxyless server's filter chain transport socket: mTLS, a client certificate from the mesh roots required. */
export function proxylessServerTls(): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': typeUrl(EXTENSION_TYPES.downstreamTlsContext),
      common_tls_context: {
        tls_certificate_provider_instance: PROVIDER.identity,
        validation_context: { ca_certificate_provider_instance: PROVIDER.roots },
      },
      require_client_certificate: { value: true },
    },
  };
}
