// Responses the proxy generates itself (no route, no host, overload, timeouts, direct responses), in HTTP or gRPC form.
import { grpcStatusForHttp } from './grpc.ts';
import type { HeaderList } from './header-list.ts';
import { OVERLOADED_HEADER, RESPONSE_FLAGS_HEADER } from './response-headers.ts';

/** Envoy response flags used by the router. */
export const ResponseFlag = {
  NoRoute: 'NR',
  NoCluster: 'NC',
  NoHealthyUpstream: 'UH',
  UpstreamOverflow: 'UO',
  UpstreamConnectionFailure: 'UF',
  UpstreamReset: 'UR',
  UpstreamRequestTimeout: 'UT',
  UpstreamProtocolError: 'UPE',
  DownstreamProtocolError: 'DPE',
} as const;

export interface LocalReply {
  status: number;
  body: string;
  /** Response flag for x-trellis-response-flags ('' for direct responses). */
  flags: string;
  overloaded?: boolean;
  /** Overrides the grpc-status derived from the HTTP status (e.g. DEADLINE_EXCEEDED for grpc-timeout). */
  grpcStatus?: number;
}

/** The status, headers (before route response mutations) and body to send for a local reply. */
export function renderLocalReply(
  reply: LocalReply,
  grpc: boolean,
): { status: number; headers: HeaderList; body: string } {
  const headers: HeaderList = [];
  let status = reply.status;
  let body = reply.body;
  if (grpc) {
    headers.push('content-type', 'application/grpc');
    headers.push('grpc-status', String(reply.grpcStatus ?? grpcStatusForHttp(status)));
    if (body !== '') headers.push('grpc-message', encodeGrpcMessage(body));
    status = 200;
    body = '';
  } else if (body !== '') {
    headers.push('content-type', 'text/plain');
  }
  return { status, headers, body };
}

/** Adds the internal headers that only locally generated responses may carry. */
export function addLocalReplyMarkers(headers: HeaderList, reply: LocalReply): void {
  if (reply.flags !== '') headers.push(RESPONSE_FLAGS_HEADER, reply.flags);
  if (reply.overloaded === true) headers.push(OVERLOADED_HEADER, 'true');
}

/** grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
