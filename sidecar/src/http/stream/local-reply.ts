// Responses the proxy generates itself (no route, no host, overload, timeouts, direct responses), in HTTP or gRPC form.
import type { Socket } from 'node:net';
import type { DownstreamEncoder } from '../codec/downstream.ts';
import type { HttpContext } from '../context/http-context.ts';
import { grpcStatusForHttp } from '../message/grpc.ts';
import type { HeaderList } from '../message/header-list.ts';
import { writeRawResponse } from '../message/raw-response.ts';
import type { LocalReply } from '../message/reply.ts';
import {
  finalizeResponseHeaders,
  OVERLOADED_HEADER,
  RESPONSE_FLAGS_HEADER,
  type ResponseScope,
} from '../routing/response-headers.ts';

/** The status, headers (before route response mutations) and body to send for a local reply. */
function renderLocalReply(
  reply: LocalReply,
  grpc: boolean,
): { status: number; headers: HeaderList; body: string | Buffer } {
  const headers: HeaderList = [];
  let status = reply.status;
  let body = reply.body;
  if (grpc) {
    headers.push('content-type', 'application/grpc');
    headers.push('grpc-status', String(reply.grpcStatus ?? grpcStatusForHttp(status)));
    if (body.length > 0) headers.push('grpc-message', encodeGrpcMessage(body.toString()));
    status = 200;
    body = '';
  } else if (body.length > 0 && reply.stored !== true && !namesHeader(reply.headers, 'content-type')) {
    headers.push('content-type', 'text/plain');
  }
  if (reply.location !== undefined) headers.push('location', reply.location);
  if (reply.headers !== undefined) headers.push(...reply.headers);
  return { status, headers, body };
}

/** Whether a flat `[name, value, …]` list names a header. */
function namesHeader(list: readonly string[] | undefined, name: string): boolean {
  if (list === undefined) return false;
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true;
  return false;
}

/** Adds the internal headers that only locally generated responses may carry. */
function addLocalReplyMarkers(headers: HeaderList, reply: LocalReply): void {
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

/** What HTTP filters make of a local reply's head (their response-headers phase, e.g. CORS headers). */
export type EncodeHeaders = (status: number, headers: HeaderList) => void;

/** Renders a reply with the scope's response header mutations and counts it; returns what to write. */
function prepare(
  ctx: HttpContext,
  reply: LocalReply,
  scope: ResponseScope,
  grpc: boolean,
  encode?: EncodeHeaders,
): { status: number; headers: HeaderList; body: string | Buffer } {
  const r = renderLocalReply(reply, grpc);
  if (reply.stored !== true) finalizeResponseHeaders(r.headers, scope, ctx.hcm);
  encode?.(r.status, r.headers);
  addLocalReplyMarkers(r.headers, reply);
  ctx.names.response(ctx.stats, r.status);
  return r;
}

/** Answers through the stream's encoder (HTTP/1.1 or HTTP/2); if a head already went out, the stream is reset instead. */
export function sendLocalReply(
  ctx: HttpContext,
  enc: DownstreamEncoder,
  reply: LocalReply,
  scope: ResponseScope,
  grpc: boolean,
  encode?: EncodeHeaders,
): void {
  const r = prepare(ctx, reply, scope, grpc, encode);
  // A head that cannot go out (a filter made it invalid) must not leave the stream unanswered: it is reset.
  if (enc.headersSent || enc.whole(r.status, r.headers, r.body, ctx.draining) === 'invalid') enc.reset(false);
}

/** Answers on a raw HTTP/1.1 socket (upgrades, CONNECT, malformed requests) and closes it. */
export function sendRawLocalReply(ctx: HttpContext, socket: Socket, reply: LocalReply, scope: ResponseScope): void {
  const r = prepare(ctx, reply, scope, false);
  writeRawResponse(socket, r.status, r.headers, r.body);
}
