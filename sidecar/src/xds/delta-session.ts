// Incremental (Delta) ADS from the client side: wildcard LDS/CDS, named RDS/EDS/SDS subscribe/unsubscribe,
// initial_resource_versions on every new stream, ACK/NACK by nonce.
import { TYPE_URLS } from '@trellis/xds-protos';
import type { DeltaResponse } from './ads-call.ts';
import { type AdsSession, NACK_CODE, type References, type ResponseOutcome, resourceTypeOf } from './ads-session.ts';
import type { ResourceStore, ResourceType } from './resource-store.ts';

type Obj = Record<string, unknown>;
const WILDCARD = '*';

export class DeltaSession implements AdsSession {
  readonly #write: (request: Obj) => void;
  readonly #store: ResourceStore;
  #node: Obj | undefined;
  /** RDS/EDS/SDS names subscribed on this stream; undefined until the type's first request. */
  readonly #subscribed = new Map<ResourceType, Set<string>>();

  constructor(write: (request: Obj) => void, store: ResourceStore, node: Obj) {
    this.#write = write;
    this.#store = store;
    this.#node = node;
  }

  start(refs: References): void {
    for (const type of ['cluster', 'listener'] as const) {
      this.#send({
        type_url: TYPE_URLS[type],
        resource_names_subscribe: [WILDCARD],
        initial_resource_versions: this.#store.versions(type),
      });
    }
    this.subscribe(refs);
  }

  onResponse(response: unknown): ResponseOutcome | undefined {
    const res = response as DeltaResponse;
    const type = resourceTypeOf(res.type_url, TYPE_URLS);
    if (!type) return undefined;
    const named = this.#subscribed.get(type);
    const result = this.#store.apply({
      type,
      // A resource without a body is a TTL heartbeat: nothing to apply.
      resources: res.resources.flatMap((r) =>
        r.resource ? [{ name: r.name, version: r.version, any: r.resource }] : [],
      ),
      removed: res.removed_resources,
      fullState: false,
      ...(type === 'listener' || type === 'cluster' ? {} : { subscribed: named ?? new Set<string>() }),
      versionInfo: res.system_version_info,
    });
    const ack: Obj = { type_url: res.type_url, response_nonce: res.nonce };
    if ('error' in result) ack['error_detail'] = { code: NACK_CODE, message: result.error };
    this.#send(ack);
    return {
      type,
      typeUrl: res.type_url,
      version: res.system_version_info,
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
      const current = this.#subscribed.get(type);
      const add = [...wanted].filter((n) => !current?.has(n)).sort();
      const remove = current ? [...current].filter((n) => !wanted.has(n)).sort() : [];
      if (add.length === 0 && remove.length === 0) continue;
      const request: Obj = {
        type_url: TYPE_URLS[type],
        resource_names_subscribe: add,
        resource_names_unsubscribe: remove,
      };
      // The type's first request on a stream tells the server which versions survive from the last stream.
      if (!current) request['initial_resource_versions'] = this.#store.versions(type, wanted);
      this.#subscribed.set(type, new Set(wanted));
      this.#send(request);
    }
  }

  #send(request: Obj): void {
    if (this.#node) request['node'] = this.#node;
    this.#node = undefined;
    this.#write(request);
  }
}
