// Reads the endpoint a proxy announces through its ADS node metadata (TRELLIS_SERVICE, _ADDRESS, _PORT, ...).
import { isIP } from 'node:net';
import { clientKindOf, NODE_META, type NodeInfo } from '@trellis/node-contract';
import { MAX_ENDPOINT_WEIGHT, MIN_ENDPOINT_WEIGHT } from '../common/limits.ts';
import { labelProblems } from '../resources/validate/labels.ts';
import type { Endpoint } from './endpoint.ts';

/** The IP of a gRPC peer string ('1.2.3.4:5678', '[::1]:5678', 'ipv4:1.2.3.4:5678', '::ffff:1.2.3.4'), if any. */
export function peerIpOf(peer: string | undefined): string | undefined {
  if (!peer) return undefined;
  let p = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(p);
  if (bracketed) p = bracketed[1] as string;
  else if (isIP(p) === 0) p = p.replace(/:\d+$/, '');
  p = p.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return isIP(p) === 0 ? undefined : p;
}

/**
 * The IP of a grpc-js server call's peer (`getPeer()`: `<remoteAddress>:<remotePort>`, IPv6 unbracketed, e.g.
 * `2001:db8::1:5678`): the port is always stripped, never read as part of an IPv6 address. Undefined when it is not
 * that form (the caller then fails closed).
 */
export function grpcPeerIp(peer: string | undefined): string | undefined {
  if (peer === undefined) return undefined;
  if (peer.startsWith('[') || peer.startsWith('ipv4:') || peer.startsWith('ipv6:')) return peerIpOf(peer);
  const m = /^(.*):(\d{1,5})$/.exec(peer);
  if (m === null || isIP(m[1] as string) === 0) return undefined;
  return peerIpOf(m[1]);
}

function integerIn(value: unknown, min: number, max: number): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

function labelsOf(value: unknown): { labels: Record<string, string> } | { error: string } {
  if (value === undefined || value === null) return { labels: {} };
  let obj = value;
  if (typeof obj === 'string') {
    try {
      obj = JSON.parse(obj);
    } catch {
      return { error: `${NODE_META.labels}: expected an object of string labels, got ${JSON.stringify(value)}` };
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { error: `${NODE_META.labels}: expected an object of string labels` };
  }
  const problem = labelProblems(obj as Record<string, unknown>, NODE_META.labels)[0];
  if (problem) return { error: `${problem[0]}: ${problem[1]}` };
  return { labels: { ...(obj as Record<string, string>) } };
}

/**
 * The endpoint a node registers: undefined when it announces no service (a plain client), an error naming the
 * metadata key when what it announces is unusable. The address falls back to the stream's peer IP.
 */
export function endpointFromNode(node: NodeInfo, peerIp?: string): Endpoint | undefined | { error: string } {
  const meta = node.metadata;
  const service = meta[NODE_META.service];
  if (service === undefined || service === null || service === '') return undefined;
  // An edge gateway takes traffic from outside the mesh: it is no endpoint of a service.
  const gateway = meta[NODE_META.gateway];
  if (typeof gateway === 'string' && gateway !== '') return undefined;
  if (typeof service !== 'string') return { error: `${NODE_META.service}: expected a service name` };

  const announced = meta[NODE_META.address];
  let address: string | undefined;
  if (announced !== undefined && announced !== null && announced !== '') {
    if (typeof announced !== 'string' || isIP(announced) === 0) {
      return { error: `${NODE_META.address}: expected an IP address, got ${JSON.stringify(announced)}` };
    }
    address = announced;
  } else {
    address = peerIpOf(peerIp);
    if (address === undefined) return { error: `${NODE_META.address}: not set and the peer address is unknown` };
  }

  const port = integerIn(meta[NODE_META.port], 1, 65535);
  if (port === undefined) {
    return { error: `${NODE_META.port}: expected a port number 1-65535, got ${JSON.stringify(meta[NODE_META.port])}` };
  }

  const rawWeight = meta[NODE_META.weight];
  const weight =
    rawWeight === undefined || rawWeight === null ? 1 : integerIn(rawWeight, MIN_ENDPOINT_WEIGHT, MAX_ENDPOINT_WEIGHT);
  if (weight === undefined) {
    return {
      error: `${NODE_META.weight}: expected an integer from ${MIN_ENDPOINT_WEIGHT} to ${MAX_ENDPOINT_WEIGHT}, got ${JSON.stringify(rawWeight)}`,
    };
  }

  const labels = labelsOf(meta[NODE_META.labels]);
  if ('error' in labels) return labels;

  const endpoint: Endpoint = {
    service,
    address,
    port,
    labels: labels.labels,
    weight,
    zone: node.locality?.zone ?? '',
    source: node.id,
  };
  // A sidecar with a certificate takes mTLS and plaintext (PERMISSIVE) on its port; a proxyless gRPC server takes one
  // or the other (TLS only under STRICT, when every endpoint of the service is marked anyway): never marked here.
  if (meta[NODE_META.mtls] === 'true' && clientKindOf(node) === 'sidecar') endpoint.tls = true;
  return endpoint;
}
