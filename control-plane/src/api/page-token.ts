// List page tokens (AIP-158): opaque to clients; they carry the listing's kind filter and the last key returned.
import { status } from '@grpc/grpc-js';
import { KINDS, type Kind, type ResourceKey } from '../resources/types.ts';
import { ApiError } from './errors.ts';

export interface PageCursor {
  /** The kind filter of the listing ('' = every kind): a token only continues the listing that issued it. */
  filter: Kind | '';
  /** The last resource of the previous page; the next page starts after it. */
  after: ResourceKey;
}

const VERSION = 1;

export function encodePageToken(cursor: PageCursor): string {
  const json = JSON.stringify([VERSION, cursor.filter, cursor.after.kind, cursor.after.name]);
  return Buffer.from(json, 'utf8').toString('base64url');
}

function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}

const INVALID = 'page_token: not a next_page_token from a List reply of this server';

/** The cursor of a token, checked against the request's kind filter; INVALID_ARGUMENT when it does not fit. */
export function decodePageToken(token: string, filter: Kind | undefined): PageCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new ApiError(status.INVALID_ARGUMENT, INVALID);
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== VERSION) {
    throw new ApiError(status.INVALID_ARGUMENT, INVALID);
  }
  const [, tokenFilter, kind, name] = parsed as unknown[];
  if ((tokenFilter !== '' && !isKind(tokenFilter)) || !isKind(kind) || typeof name !== 'string') {
    throw new ApiError(status.INVALID_ARGUMENT, INVALID);
  }
  if (tokenFilter !== (filter ?? '')) {
    const listed = (k: string) => (k === '' ? 'every kind' : `kind ${k}`);
    throw new ApiError(
      status.INVALID_ARGUMENT,
      `page_token: continues a List of ${listed(tokenFilter)}, this request lists ${listed(filter ?? '')}`,
    );
  }
  return { filter: tokenFilter, after: { kind, name } };
}
