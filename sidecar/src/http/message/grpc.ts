// gRPC details the HTTP router needs: detection, grpc-timeout deadlines, and HTTP status → grpc-status for local replies.

/** The gRPC status codes the router produces or retries on. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** True for application/grpc, application/grpc+proto, application/grpc-web…: requests answered in gRPC form. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType?.startsWith('application/grpc') === true;
}

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/** Parses a grpc-timeout header ("100m", "5S", at most 8 digits) into milliseconds; undefined when malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value.length < 2 || value.length > 9) return undefined;
  const scale = UNIT_MS[value.charAt(value.length - 1)];
  if (scale === undefined) return undefined;
  const digits = value.slice(0, -1);
  if (!/^\d+$/.test(digits)) return undefined;
  return Math.max(1, Math.ceil(Number(digits) * scale));
}

/** The grpc-status a proxy reports for an HTTP status it generated (gRPC's HTTP-to-gRPC status mapping). */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** The grpc-status of a header block, when present and numeric. */
export function grpcStatusOf(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number.parseInt(value, 10);
  return Number.isNaN(n) ? undefined : n;
}

/** gRPC status → HTTP status (Envoy's grpcToHttpStatus), for a gRPC status sent to a client that is not gRPC. */
const HTTP_FOR_GRPC: readonly number[] = [
  200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401,
];

export function httpStatusForGrpc(code: number): number {
  return HTTP_FOR_GRPC[code] ?? 500;
}
