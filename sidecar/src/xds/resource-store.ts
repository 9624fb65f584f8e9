// The xDS client's accepted resources per type: validates each response as a whole, tracks what listeners and
// clusters reference (route configurations, load assignments, SDS secrets), knows when the config is complete, and
// builds the immutable SidecarConfig from it.
import { type AnyMessage, decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { decodeCluster } from '../config/decode-cluster.ts';
import { decodeClusterLoadAssignment } from '../config/decode-endpoint.ts';
import { decodeListener } from '../config/decode-listener.ts';
import { decodeRouteConfiguration } from '../config/decode-route.ts';
import { decodeSecret } from '../config/decode-secret.ts';
import { secretsOf } from '../config/decode-tls.ts';
import type { Decoded, Obj } from '../config/decode-values.ts';
import type {
  ClusterConfig,
  ClusterLoadAssignmentConfig,
  ListenerConfig,
  RouteConfig,
  SecretConfig,
  SidecarConfig,
} from '../config/model.ts';
import { EMPTY_CONFIG } from '../config/model.ts';

/** The xDS types the sidecar subscribes to, in make-before-break order. */
export type ResourceType = 'cluster' | 'endpoint' | 'listener' | 'route' | 'secret';
export const RESOURCE_TYPES: readonly ResourceType[] = ['cluster', 'endpoint', 'listener', 'route', 'secret'];
/** The types asked for by name, following what listeners and clusters reference. */
export type NamedType = 'route' | 'endpoint' | 'secret';

interface Model {
  listener: ListenerConfig | null;
  route: RouteConfig;
  cluster: ClusterConfig;
  endpoint: ClusterLoadAssignmentConfig;
  secret: SecretConfig;
}

const DECODERS: { [K in ResourceType]: (o: Obj, version: string) => Decoded<Model[K]> } = {
  listener: decodeListener,
  route: decodeRouteConfiguration,
  cluster: decodeCluster,
  endpoint: decodeClusterLoadAssignment,
  secret: decodeSecret,
};

const KIND: Readonly<Record<ResourceType, string>> = {
  listener: 'listener',
  route: 'route configuration',
  cluster: 'cluster',
  endpoint: 'cluster load assignment',
  secret: 'secret',
};

/** One response's content for a type, whatever the protocol. */
export interface ResourceUpdate {
  type: ResourceType;
  /** Delta gives each resource its name and version; SotW resources carry the response version. */
  resources: { name?: string; version: string; any: AnyMessage }[];
  /** Names to delete (Delta removed_resources). */
  removed: readonly string[];
  /** SotW LDS/CDS: the response is the whole set; what it lacks is deleted. */
  fullState: boolean;
  /** Names asked for (undefined = wildcard); other resources in the response are ignored. */
  subscribed?: ReadonlySet<string>;
  /** SotW version_info or Delta system_version_info. */
  versionInfo: string;
}

/** A store's accepted resources as bytes, per type (ResourceStore.exportAll); structured-clonable. */
export type ResourceExport = {
  type: ResourceType;
  versionInfo: string;
  resources: { name: string; version: string; bytes: Uint8Array }[];
}[];

interface Stored<T> {
  name: string;
  version: string;
  bytes: Uint8Array;
  raw: Obj;
  decoded: T;
  updatedAt: string;
}

interface TypeState<T> {
  resources: Map<string, Stored<T>>;
  /** Names the server said do not exist (Delta). */
  absent: Set<string>;
  versionInfo: string;
  received: boolean;
  updatedAt?: string;
  lastNack?: { message: string; at: string };
}

type States = { [K in ResourceType]: TypeState<Model[K]> };

function emptyState<T>(): TypeState<T> {
  return { resources: new Map(), absent: new Set(), versionInfo: '', received: false };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

const WILDCARD_ADDRESSES: ReadonlySet<string> = new Set(['0.0.0.0', '::']);

/** Listeners that would bind the same port (on the same address, or where one is a wildcard address). */
function bindClashes(listeners: ReadonlyMap<string, Stored<ListenerConfig | null>>): string[] {
  const bound: ListenerConfig[] = [];
  const errors: string[] = [];
  for (const { decoded: l } of listeners.values()) {
    if (!l || l.port === 0) continue;
    const clash = bound.find(
      (b) =>
        b.port === l.port &&
        (b.address === l.address || WILDCARD_ADDRESSES.has(b.address) || WILDCARD_ADDRESSES.has(l.address)),
    );
    if (clash) errors.push(`listener ${l.name}: address ${l.address}:${l.port} clashes with listener ${clash.name}`);
    else bound.push(l);
  }
  return errors;
}

/** How the NACK message is kept readable when many resources fail. */
const MAX_ERRORS_IN_NACK = 5;

export class ResourceStore {
  readonly #states: States = {
    listener: emptyState(),
    route: emptyState(),
    cluster: emptyState(),
    endpoint: emptyState(),
    secret: emptyState(),
  };
  #config: SidecarConfig = EMPTY_CONFIG;
  #dirty = false;

  /**
   * Validates a response as a whole and applies it only when every resource decodes: otherwise returns the
   * error (for the NACK) and changes nothing. Unchanged resources keep their decoded objects (same identity).
   */
  apply<K extends ResourceType>(update: ResourceUpdate & { type: K }): { error: string } | { changed: boolean } {
    const state = this.#states[update.type] as TypeState<Model[K]>;
    const decode = DECODERS[update.type] as (o: Obj, version: string) => Decoded<Model[K]>;
    const now = new Date().toISOString();
    const next = update.fullState ? new Map<string, Stored<Model[K]>>() : new Map(state.resources);
    const errors: string[] = [];
    const seen = new Set<string>();
    for (const [i, r] of update.resources.entries()) {
      const expected = TYPE_URLS[update.type];
      if (r.any.type_url !== expected) {
        errors.push(`resources[${i}]: type_url ${r.any.type_url} in a ${expected} response`);
        continue;
      }
      // A resource named as one held, with the same bytes: accepted before, so valid now; kept without a decode (a
      // worker thread importing the whole config on every change decodes only what changed).
      const held = r.name === undefined ? undefined : state.resources.get(r.name);
      if (held !== undefined && sameBytes(held.bytes, r.any.value)) {
        if (seen.has(held.name)) errors.push(`${KIND[update.type]} ${held.name}: sent twice in one response`);
        seen.add(held.name);
        if (!update.subscribed || update.subscribed.has(held.name)) next.set(held.name, held);
        continue;
      }
      let raw: Obj;
      try {
        raw = decodeAny(r.any);
      } catch (err) {
        errors.push(`resources[${i}]: cannot decode ${expected}: ${(err as Error).message}`);
        continue;
      }
      const name = String((update.type === 'endpoint' ? raw['cluster_name'] : raw['name']) ?? '');
      if (name === '' || (r.name !== undefined && r.name !== name)) {
        errors.push(
          `resources[${i}]: named ${JSON.stringify(r.name ?? '')} but carries ${KIND[update.type]} ${JSON.stringify(name)}`,
        );
        continue;
      }
      if (seen.has(name)) errors.push(`${KIND[update.type]} ${name}: sent twice in one response`);
      seen.add(name);
      if (update.subscribed && !update.subscribed.has(name)) continue;
      const prev = state.resources.get(name);
      if (prev && sameBytes(prev.bytes, r.any.value)) {
        next.set(name, prev);
        continue;
      }
      const decoded = decode(raw, r.version);
      if ('error' in decoded) errors.push(decoded.error);
      else
        next.set(name, { name, version: r.version, bytes: r.any.value, raw, decoded: decoded.value, updatedAt: now });
    }
    for (const name of update.removed) next.delete(name);
    if (update.type === 'listener') errors.push(...bindClashes(next as Map<string, Stored<ListenerConfig | null>>));
    if (errors.length > 0) {
      const more = errors.length > MAX_ERRORS_IN_NACK ? ` (and ${errors.length - MAX_ERRORS_IN_NACK} more)` : '';
      const message = errors.slice(0, MAX_ERRORS_IN_NACK).join('; ') + more;
      state.lastNack = { message, at: now };
      return { error: message };
    }
    for (const name of update.removed) state.absent.add(name);
    for (const name of next.keys()) state.absent.delete(name);
    const changed = next.size !== state.resources.size || [...next].some(([n, s]) => state.resources.get(n) !== s);
    state.resources = next;
    state.versionInfo = update.versionInfo;
    state.received = true;
    state.updatedAt = now;
    if (changed) this.#dirty = true;
    return { changed };
  }

  /**
   * Every accepted resource, per type received, as its bytes: what another ResourceStore imports (importAll) to hold
   * the same config, e.g. the sidecar's worker threads (they decode it themselves; decoded objects do not cross).
   */
  exportAll(): ResourceExport {
    const out: ResourceExport = [];
    for (const type of RESOURCE_TYPES) {
      const state = this.#states[type];
      if (!state.received && state.resources.size === 0) continue;
      out.push({
        type,
        versionInfo: state.versionInfo,
        // A copy of just the resource's bytes: they may view a whole response buffer, which posting would copy.
        resources: [...state.resources.values()].map((r) => ({
          name: r.name,
          version: r.version,
          bytes: r.bytes.slice(),
        })),
      });
    }
    return out;
  }

  /**
   * Holds what an export holds (each type applied as a full state, in make-before-break order); the error of the
   * first type that fails (the types before it stay applied: an export of a store that accepted them never fails).
   */
  importAll(exported: ResourceExport): { error: string } | undefined {
    for (const { type, versionInfo, resources } of exported) {
      const result = this.apply({
        type,
        resources: resources.map((r) => ({
          name: r.name,
          version: r.version,
          any: { type_url: TYPE_URLS[type], value: r.bytes },
        })),
        removed: [],
        fullState: true,
        versionInfo,
      });
      if ('error' in result) return result;
    }
    for (const type of RESOURCE_TYPES) {
      if (exported.some((e) => e.type === type)) continue;
      const state = this.#states[type];
      if (state.resources.size > 0) this.#dirty = true;
      (this.#states as Record<ResourceType, TypeState<unknown>>)[type] = emptyState();
    }
    return undefined;
  }

  /** The last accepted version of a type ('' before any): what a SotW NACK reports. */
  versionInfo(type: ResourceType): string {
    return this.#states[type].versionInfo;
  }

  /** Resource versions held (Delta initial_resource_versions), optionally only for some names. */
  versions(type: ResourceType, only?: ReadonlySet<string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, s] of this.#states[type].resources) if (!only || only.has(name)) out[name] = s.version;
    return out;
  }

  /**
   * Route configurations the listeners use over RDS, load assignments the EDS clusters read, and the secrets (trust
   * bundles) their TLS contexts read over SDS.
   */
  references(): { routes: Set<string>; endpoints: Set<string>; secrets: Set<string> } {
    const routes = new Set<string>();
    const endpoints = new Set<string>();
    const secrets = new Set<string>();
    for (const { decoded } of this.#states.listener.resources.values()) {
      if (decoded?.filter.type === 'http' && decoded.filter.http.routeConfigName !== undefined) {
        routes.add(decoded.filter.http.routeConfigName);
      }
      if (decoded?.tls !== undefined) for (const n of secretsOf(decoded.tls.context)) secrets.add(n);
    }
    for (const { decoded } of this.#states.cluster.resources.values()) {
      if (decoded.discovery === 'eds') endpoints.add(decoded.edsServiceName || decoded.name);
      for (const m of decoded.transportSockets ?? [])
        if (m.tls !== undefined) for (const n of secretsOf(m.tls)) secrets.add(n);
    }
    return { routes, endpoints, secrets };
  }

  /** Forgets resources (and absences) of a type that are no longer referenced. */
  retain(type: NamedType, keep: ReadonlySet<string>): void {
    const state = this.#states[type];
    for (const name of [...state.resources.keys()]) {
      if (keep.has(name)) continue;
      state.resources.delete(name);
      this.#dirty = true;
    }
    for (const name of [...state.absent]) if (!keep.has(name)) state.absent.delete(name);
  }

  /** What a complete config still lacks: LDS/CDS not yet received, referenced RDS/EDS/SDS names not yet known. */
  missing(): string[] {
    const out: string[] = [];
    const s = this.#states;
    if (!s.listener.received) out.push('listeners');
    if (!s.cluster.received) out.push('clusters');
    const refs = this.references();
    for (const name of refs.routes) {
      if (!s.route.resources.has(name) && !s.route.absent.has(name)) out.push(`route configuration ${name}`);
    }
    for (const name of refs.endpoints) {
      if (!s.endpoint.resources.has(name) && !s.endpoint.absent.has(name)) out.push(`cluster load assignment ${name}`);
    }
    for (const name of refs.secrets) {
      if (!s.secret.resources.has(name) && !s.secret.absent.has(name)) out.push(`secret ${name}`);
    }
    return out;
  }

  /** The SidecarConfig of what is held; the same object until something changes. */
  build(): SidecarConfig {
    if (!this.#dirty) return this.#config;
    const pick = <K extends ResourceType>(type: K): [string, Model[K]][] =>
      [...(this.#states[type] as TypeState<Model[K]>).resources.values()]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((s) => [s.name, s.decoded]);
    const listeners = new Map<string, ListenerConfig>();
    for (const [name, l] of pick('listener')) if (l) listeners.set(name, l);
    this.#config = Object.freeze({
      listeners,
      routes: new Map(pick('route')),
      clusters: new Map(pick('cluster')),
      endpoints: new Map(pick('endpoint')),
      secrets: new Map(pick('secret')),
    });
    this.#dirty = false;
    return this.#config;
  }

  /** Per type: accepted version, times, last NACK, and each resource as received (for /config_dump). */
  dump(): unknown[] {
    return RESOURCE_TYPES.map((type) => {
      const s = this.#states[type] as TypeState<unknown>;
      return {
        typeUrl: TYPE_URLS[type],
        version: s.versionInfo,
        lastUpdated: s.updatedAt ?? null,
        ...(s.lastNack ? { lastNack: s.lastNack } : {}),
        resources: [...s.resources.values()].map((r) => ({
          name: r.name,
          version: r.version,
          lastUpdated: r.updatedAt,
          resource: r.raw,
        })),
      };
    });
  }
}
