// The attributes a proxy span carries (current HTTP semantic conventions plus Envoy's proxy attributes), set in place.
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_PEER_SERVICE,
  ATTR_RPC_GRPC_STATUS_CODE,
} from '@opentelemetry/semantic-conventions/incubating';
import { peerIdentityOf } from '../../common/peer-identity.ts';
import type { AttemptOutcome, ExchangeSummary, ObservedRequest } from '../../http/context/exchange-observer.ts';
import type { Host } from '../../upstream/host/host.ts';
import type { ProxySpan } from './proxy-span.ts';

/** Envoy's names for the proxy-specific attributes; ours where Envoy has none. */
export const ATTR_UPSTREAM_CLUSTER = 'upstream_cluster';
export const ATTR_RESPONSE_FLAGS = 'response_flags';
export const ATTR_OVERLOAD_CAUSE = 'trellis.overload_cause';
/** 'ingress' (inbound listener) or 'egress' (outbound). */
export const ATTR_DIRECTION = 'trellis.direction';
/** The caller's SPIFFE id, verified by mesh mTLS (its client certificate's URI SAN). */
export const ATTR_PEER_IDENTITY = 'trellis.peer.identity';

/** gRPC codes that make a server span an error (OTel gRPC conventions); a client span fails on any non-OK code. */
const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/** The request-line attributes every span of a request starts with. */
export function setRequestAttributes(span: ProxySpan, request: ObservedRequest, direction: string): void {
  const a = span.attributes;
  const view = request.view;
  a[ATTR_HTTP_REQUEST_METHOD] = view.method;
  a[ATTR_URL_PATH] = view.path;
  a[ATTR_DIRECTION] = direction;
}

/** The server side of a request: who called, which authority, scheme and protocol. */
export function setServerAttributes(span: ProxySpan, request: ObservedRequest): void {
  const a = span.attributes;
  a[ATTR_URL_SCHEME] = request.view.scheme;
  a[ATTR_NETWORK_PROTOCOL_VERSION] = request.isH2 ? '2' : '1.1';
  a[ATTR_CLIENT_ADDRESS] = request.peer;
  const identity = peerIdentityOf(request.downstream);
  if (identity !== undefined) a[ATTR_PEER_IDENTITY] = identity.peerUri;
  const authority = request.view.authority;
  const colon = authority.lastIndexOf(':');
  a[ATTR_SERVER_ADDRESS] = colon > 0 && authority.indexOf(']') < colon ? authority.slice(0, colon) : authority;
}

/** Route and cluster once routing chose them. */
export function setRouteAttributes(span: ProxySpan, routeName: string, cluster: string, peerService: string): void {
  const a = span.attributes;
  if (routeName !== '') a[ATTR_HTTP_ROUTE] = routeName;
  if (cluster !== '') a[ATTR_UPSTREAM_CLUSTER] = cluster;
  if (peerService !== '') a[ATTR_PEER_SERVICE] = peerService;
}

/** The upstream host of an attempt and its place in the retry sequence (attempt counts from 1). */
export function setAttemptAttributes(span: ProxySpan, host: Host, attempt: number): void {
  const a = span.attributes;
  a[ATTR_SERVER_ADDRESS] = host.address;
  a[ATTR_SERVER_PORT] = host.port;
  if (attempt > 1) a[ATTR_HTTP_REQUEST_RESEND_COUNT] = attempt - 1;
}

/** How an attempt ended; a client span fails on 5xx, non-OK gRPC codes and transport errors. */
export function setOutcomeAttributes(span: ProxySpan, outcome: AttemptOutcome): void {
  const a = span.attributes;
  if ('error' in outcome) {
    a[ATTR_ERROR_TYPE] = outcome.error;
    if (outcome.overloadCause !== undefined) a[ATTR_OVERLOAD_CAUSE] = outcome.overloadCause;
    span.fail(outcome.error);
    return;
  }
  a[ATTR_HTTP_RESPONSE_STATUS_CODE] = outcome.status;
  if (outcome.grpcStatus !== undefined) a[ATTR_RPC_GRPC_STATUS_CODE] = outcome.grpcStatus;
  if (outcome.status >= 500) {
    a[ATTR_ERROR_TYPE] = String(outcome.status);
    span.fail(`HTTP ${outcome.status}`);
  } else if (outcome.grpcStatus !== undefined && outcome.grpcStatus !== 0) {
    span.fail(`gRPC status ${outcome.grpcStatus}`);
  }
}

/**
 * The request as it ended, on the span that stands for the whole request (the server span, or the client span of
 * a request answered without an upstream response). Fails on 5xx, server-error gRPC codes and resets.
 */
export function setSummaryAttributes(span: ProxySpan, s: ExchangeSummary, isServer: boolean): void {
  const a = span.attributes;
  if (s.status !== 0) a[ATTR_HTTP_RESPONSE_STATUS_CODE] = s.status;
  if (s.grpcStatus !== undefined) a[ATTR_RPC_GRPC_STATUS_CODE] = s.grpcStatus;
  if (s.flags !== '') a[ATTR_RESPONSE_FLAGS] = s.flags;
  if (s.overloadCause !== undefined) a[ATTR_OVERLOAD_CAUSE] = s.overloadCause;
  if (s.status >= 500) {
    a[ATTR_ERROR_TYPE] ??= String(s.status);
    span.fail(s.flags === '' ? `HTTP ${s.status}` : `HTTP ${s.status} ${s.flags}`);
  } else if (s.reset || s.status === 0) {
    a[ATTR_ERROR_TYPE] ??= 'reset';
    span.fail(s.flags === '' ? 'stream reset' : `stream reset ${s.flags}`);
  } else if (s.grpcStatus !== undefined && s.grpcStatus !== 0 && (!isServer || GRPC_SERVER_ERRORS.has(s.grpcStatus))) {
    span.fail(`gRPC status ${s.grpcStatus}`);
  }
}

/** The service a cluster belongs to: `orders` of `orders|8080|v1`; `inbound|…` clusters are the local app. */
export function peerServiceOf(cluster: string, localService: string): string {
  const bar = cluster.indexOf('|');
  if (bar < 0) return cluster;
  const service = cluster.slice(0, bar);
  return service === 'inbound' ? localService : service;
}

/** A gRPC status that came in the trailers (after the attempt's head): recorded on the client span, non-OK fails it. */
export function setTrailerGrpcStatus(span: ProxySpan, grpcStatus: number | undefined): void {
  if (grpcStatus === undefined || span.attributes[ATTR_RPC_GRPC_STATUS_CODE] !== undefined) return;
  span.attributes[ATTR_RPC_GRPC_STATUS_CODE] = grpcStatus;
  if (grpcStatus !== 0 && span.status.code === 0) span.fail(`gRPC status ${grpcStatus}`);
}
