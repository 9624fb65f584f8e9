// Errors the operator API returns to callers (a gRPC status code and a message), and conflict retries.
import { status } from '@grpc/grpc-js';
import { parseKind, unknownKindMessage } from '../resources/kinds.ts';
import type { Kind } from '../resources/types.ts';
import { StoreConflictError } from '../store/errors.ts';

export class ApiError extends Error {
  readonly code: status;

  constructor(code: status, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/** The Kind a request names (canonical name or alias); INVALID_ARGUMENT otherwise. */
export function requireKind(text: string): Kind {
  const kind = parseKind(text);
  if (!kind)
    throw new ApiError(status.INVALID_ARGUMENT, `kind: ${text === '' ? 'required' : unknownKindMessage(text)}`);
  return kind;
}

/** An optional kind filter: '' means every kind. */
export function optionalKind(text: string): Kind | undefined {
  return text === '' ? undefined : requireKind(text);
}

export function requireName(name: string): string {
  if (name === '') throw new ApiError(status.INVALID_ARGUMENT, 'name: required');
  return name;
}

/** Errors a refusal lists (the status message travels in a trailer, which HTTP/2 peers bound). */
export const MAX_LISTED_ERRORS = 20;

/** Validation errors as one status message: the first MAX_LISTED_ERRORS, then how many more there are. */
export function errorList(errors: readonly string[]): string {
  if (errors.length <= MAX_LISTED_ERRORS) return errors.join('\n');
  const more = errors.length - MAX_LISTED_ERRORS;
  return [...errors.slice(0, MAX_LISTED_ERRORS), `(and ${more} more error${more === 1 ? '' : 's'})`].join('\n');
}

const MAX_ATTEMPTS = 5;

/**
 * Runs a read-validate-commit step again when another writer committed in between (StoreConflictError), so
 * validation always judged exactly the state the change lands on.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      if (i >= MAX_ATTEMPTS)
        throw new ApiError(status.ABORTED, `too many concurrent changes, try again (${err.message})`);
    }
  }
}
