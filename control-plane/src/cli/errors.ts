// Turns any failure of a command into the lines trellisctl prints on stderr.
import { status } from '@grpc/grpc-js';
import { CliError } from './io.ts';

interface GrpcError {
  code: number;
  details: string;
}

function isGrpcError(err: unknown): err is GrpcError {
  const e = err as Partial<GrpcError> | null;
  return typeof e === 'object' && e !== null && typeof e.code === 'number' && typeof e.details === 'string';
}

/** "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: " → "connect ECONNREFUSED 127.0.0.1:1". */
export function connectionReason(details: string): string {
  const at = details.indexOf('Last error: ');
  if (at < 0) return details;
  const reason = details.slice(at + 'Last error: '.length).replace(/^Error: /, '');
  return reason.replace(/\. Resolution note:.*$/s, '').trim();
}

/** The lines to print (without the "error: " prefix) for a failure talking to `address`. */
export function describeFailure(err: unknown, address: string): string[] {
  if (err instanceof CliError) return err.message.split('\n');
  if (isGrpcError(err)) {
    if (err.code === status.UNAVAILABLE)
      return [`cannot reach the Trellis API at ${address}: ${connectionReason(err.details)}`];
    if (err.code === status.DEADLINE_EXCEEDED) {
      return [`cannot reach the Trellis API at ${address}: no answer before the deadline (${err.details})`];
    }
    return err.details.split('\n');
  }
  return [err instanceof Error ? err.message : String(err)];
}
