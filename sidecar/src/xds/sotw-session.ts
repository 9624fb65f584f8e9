// State-of-the-world ADS from the client side: full resource_names per request, ACK/NACK with the latest nonce.
import { TYPE_URLS } from '@trellis/xds-protos';
import type { SotwResponse } from './ads-call.ts';
import { type AdsSession, NACK_CODE, type References, type ResponseOutcome, resourceTypeOf } from './ads-session.ts';
import type { ResourceStore, ResourceType } from './resource-store.ts';

type Obj = Record<string, unknown>;

/** LDS and CDS are wildcard (legacy: an empty resource_names list, never a name); RDS, EDS and SDS go by name. */
function isWildcard(type: ResourceType): boolean {
  return type === 'listener' || type === 'cluster';
}

export class SotwSession implements AdsSession {
  readonly #write: (request: Obj) => void;
  readonly #store: ResourceStore;
  #node: Obj | undefined;
  /** Latest nonce received per type: every request carries it, or the server ignores the request as stale. */
  readonly #nonces = new Map<ResourceType, string>();
  /** Current RDS/EDS/SDS names (sorted); undefined until first requested. */
  readonly #names = new Map<ResourceType, string[]>();

  constructor(write: (request: Obj) => void, store: ResourceStore, node: Obj) {
    this.#write = write;
    this.#store = store;
    this.#node = node;
  }

  start(refs: References): void {
    this.#request('cluster');
    this.#request('listener');
    this.subscribe(refs);
  }

  onResponse(response: unknown): ResponseOutcome | undefined {
    const res = response as SotwResponse;
    const type = resourceTypeOf(res.type_url, TYPE_URLS);
    if (!type) return undefined;
    this.#nonces.set(type, res.nonce);
    const wildcard = isWildcard(type);
    const result = this.#store.apply({
      type,
      resources: res.resources.map((any) => ({ version: res.version_info, any })),
      removed: [],
      fullState: wildcard,
      ...(wildcard ? {} : { subscribed: new Set(this.#names.get(type) ?? []) }),
      versionInfo: res.version_info,
    });
    // ACK: the accepted version; NACK: the last good one, with the error.
    this.#request(type, 'error' in result ? { code: NACK_CODE, message: result.error } : undefined);
    return {
      type,
      typeUrl: res.type_url,
      version: res.version_info,
      nonce: res.nonce,
      resources: res.resources.length,
      result,
    };
  }

  subscribe(refs: References): void {
    for (const [type, wanted] of [
      ['secret', refs.secrets],
      ['endpoint', refs.endpoints],
      ['route', refs.routes],
    ] as const) {
      const names = [...wanted].sort();
      const current = this.#names.get(type);
      if (current === undefined ? names.length === 0 : current.join('\n') === names.join('\n')) continue;
      this.#names.set(type, names);
      this.#request(type);
    }
  }

  #request(type: ResourceType, errorDetail?: { code: number; message: string }): void {
    const request: Obj = {
      type_url: TYPE_URLS[type],
      version_info: this.#store.versionInfo(type),
      resource_names: isWildcard(type) ? [] : (this.#names.get(type) ?? []),
      response_nonce: this.#nonces.get(type) ?? '',
    };
    if (errorDetail) request['error_detail'] = errorDetail;
    if (this.#node) request['node'] = this.#node;
    this.#node = undefined;
    this.#write(request);
  }
}
