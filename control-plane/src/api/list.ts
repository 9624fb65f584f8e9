// List: one page of resources in kind-then-name order, bounded by a count (page_size) and by encoded bytes.
import { status } from '@grpc/grpc-js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_BYTES, MAX_PAGE_SIZE } from '../common/limits.ts';
import { resourceEncodedSize } from '../resources/encoded-size.ts';
import { KINDS, type Resource, type ResourceKey } from '../resources/types.ts';
import type { Store } from '../store/store.ts';
import { ApiError, optionalKind } from './errors.ts';
import type { ListRequestMessage, ListResponseMessage, ResourceMessage } from './messages.ts';
import { resourceToMessage } from './messages.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';

/** A resource's place in the listing order (the store's: kind as in KINDS, then name). */
function isAfter(r: Resource, key: ResourceKey): boolean {
  const kind = KINDS.indexOf(r.kind) - KINDS.indexOf(key.kind);
  return kind > 0 || (kind === 0 && r.metadata.name > key.name);
}

/** page_size as AIP-158 reads it: 0 is the default, more than the maximum is the maximum, negative is an error. */
function pageSize(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw new ApiError(status.INVALID_ARGUMENT, `page_size: expected an integer >= 0, got ${requested}`);
  }
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/** Bytes a resource adds to a ListResponse: the message, its tag and its length. */
function entryBytes(r: Resource): number {
  return resourceEncodedSize(r as unknown as Record<string, unknown>) + 6;
}

export function listPage(store: Store, req: Partial<ListRequestMessage>): ListResponseMessage {
  const kind = optionalKind(req.kind ?? '');
  const size = pageSize(req.page_size ?? 0);
  const after = req.page_token ? decodePageToken(req.page_token, kind).after : undefined;
  const revision = store.revision();
  const all = store.list(kind);
  const start = after === undefined ? 0 : all.findIndex((r) => isAfter(r, after));
  const page: ResourceMessage[] = [];
  let bytes = 0;
  let next = start < 0 ? all.length : start;
  for (; next < all.length && page.length < size; next++) {
    const r = all[next] as Resource;
    const added = entryBytes(r);
    if (page.length > 0 && bytes + added > MAX_PAGE_BYTES) break;
    bytes += added;
    page.push(resourceToMessage(r));
  }
  const last = all[next - 1];
  const more = next < all.length && last !== undefined;
  const token = more
    ? encodePageToken({ filter: kind ?? '', after: { kind: last.kind, name: last.metadata.name } })
    : '';
  return { resources: page, revision, next_page_token: token };
}
