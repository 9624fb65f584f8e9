// Validates a Route rule's fault injection: a delay and/or an abort, each with a share of requests.
import { parseDuration } from '../duration.ts';
import { field, type Issues } from './issues.ts';

const MAX_DELAY_MS = 2_147_483_647;

/** gRPC status codes by name, as operators write them (grpcStatus: UNAVAILABLE). */
export const GRPC_CODES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export function validateFault(value: unknown, path: string, issues: Issues): void {
  const f = issues.object(value, path, ['delay', 'abort']);
  if (!f) return;
  if (f['delay'] === undefined && f['abort'] === undefined) issues.add(path, 'needs a delay, an abort, or both');
  if (f['delay'] !== undefined) {
    const at = field(path, 'delay');
    const d = issues.object(f['delay'], at, ['fixedDelay', 'percent']);
    if (d && issues.required(d, at, 'fixedDelay', 'a duration such as "2s"')) {
      const ok = issues.duration(d['fixedDelay'], field(at, 'fixedDelay'), true);
      const ms = ok ? parseDuration(String(d['fixedDelay'])) : undefined;
      // A proxy holds a delay in one timer (2³¹−1 ms, about 24 days).
      if (ms !== undefined && ms > MAX_DELAY_MS) issues.add(field(at, 'fixedDelay'), 'at most 24 days (596h)');
    }
    if (d?.['percent'] !== undefined) issues.number(d['percent'], field(at, 'percent'), 0, 100);
  }
  if (f['abort'] !== undefined) {
    const at = field(path, 'abort');
    const a = issues.object(f['abort'], at, ['httpStatus', 'grpcStatus', 'percent']);
    if (!a) return;
    issues.exactlyOne(a, at, ['httpStatus', 'grpcStatus']);
    if (a['httpStatus'] !== undefined) issues.integer(a['httpStatus'], field(at, 'httpStatus'), 200, 599);
    const grpc = a['grpcStatus'];
    if (grpc !== undefined && grpcCode(grpc) === undefined) {
      issues.expected(field(at, 'grpcStatus'), 'a gRPC status name such as UNAVAILABLE, or a code 0-16', grpc);
    }
    if (a['percent'] !== undefined) issues.number(a['percent'], field(at, 'percent'), 0, 100);
  }
}

/** The numeric gRPC code of a name (any case) or number 0-16, else undefined. */
export function grpcCode(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 16 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const i = GRPC_CODES.indexOf(value.toUpperCase());
  return i < 0 ? undefined : i;
}
