// Who is at the other end of an ADS stream: the SPIFFE id of its verified client certificate (the TLS port), or nobody
// (the opt-in plaintext port); and the rule that a node may claim only the service its certificate names.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { serviceSpiffeId } from '@trellis/identity';
import { NODE_META, type NodeInfo } from '@trellis/node-contract';

export type StreamPeer = { transport: 'mtls'; spiffeId: string } | { transport: 'plaintext' };

/** Decides whether a node may use its stream: undefined, or why not (sent as PERMISSION_DENIED). */
export type NodeAuthorizer = (node: NodeInfo, peer: StreamPeer) => string | undefined;

const ON_PLAINTEXT: StreamPeer = Object.freeze({ transport: 'plaintext' });

/**
 * The peer of a call on a port of `transport`; on the TLS port, why it is refused when it shows no verified client
 * certificate with exactly one SPIFFE URI SAN (grpc-js reports only certificates that verified against the bundle).
 */
export function streamPeerOf(
  call: Pick<ServerDuplexStream<unknown, unknown>, 'getAuthContext'>,
  transport: 'mtls' | 'plaintext',
): StreamPeer | { refused: string } {
  if (transport === 'plaintext') return ON_PLAINTEXT;
  const cert = call.getAuthContext().sslPeerCertificate;
  if (cert === undefined)
    return {
      refused:
        'xDS on this port needs a workload certificate from the mesh CA (start the sidecar with --join-token); clients without one use the plaintext port, when the control plane opens one (--xds-insecure-port)',
    };
  const uris = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:spiffe://'))
    .map((s) => s.slice(4));
  if (uris.length !== 1) return { refused: 'the client certificate carries no single SPIFFE id' };
  return { transport: 'mtls', spiffeId: uris[0] as string };
}

/**
 * A node on mTLS must hold an identity of this mesh's trust domain (a root shared with another mesh must not let its
 * workloads in), and may claim (TRELLIS_SERVICE) only the service whose identity its certificate holds.
 */
export function serviceBinding(trustDomain: string): NodeAuthorizer {
  return (node, peer) => {
    if (peer.transport !== 'mtls') return undefined;
    if (!peer.spiffeId.startsWith(`spiffe://${trustDomain}/`))
      return `the client certificate's identity ${peer.spiffeId} is not of trust domain ${trustDomain}`;
    const claimed = node.metadata[NODE_META.service];
    if (typeof claimed !== 'string' || claimed === '') return undefined;
    let expected: string;
    try {
      expected = serviceSpiffeId(trustDomain, claimed);
    } catch {
      return `${NODE_META.service}: ${JSON.stringify(claimed.slice(0, 64))} is not a service name`;
    }
    if (peer.spiffeId === expected) return undefined;
    return `${NODE_META.service}: this node claims service "${claimed}", but its certificate is ${peer.spiffeId} (a sidecar of "${claimed}" holds ${expected}; its join token comes from trellisctl token create --service ${claimed})`;
  };
}
