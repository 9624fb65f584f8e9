// One simulated sidecar: a real ADS stream (Delta or SotW, own connection) that follows references like the sidecar
// (wildcard LDS/CDS, named RDS/EDS), ACKs every response at once and reports full config, watches and resets.
import { lookupType, TYPE_URLS } from '@trellis/xds-protos';
import { H2Call } from './h2-call.ts';
import { type Mode, nowMs, type ProxySpec, type WatchSpec } from './protocol.ts';
import { decodeDelta, decodeSotw } from './wire.ts';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
const PATHS = { sotw: `/${SERVICE}/StreamAggregatedResources`, delta: `/${SERVICE}/DeltaAggregatedResources` };
const T = {
  sotwRequest: lookupType('envoy.service.discovery.v3.DiscoveryRequest'),
  deltaRequest: lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
  listener: lookupType('envoy.config.listener.v3.Listener'),
  cluster: lookupType('envoy.config.cluster.v3.Cluster'),
  hcm: lookupType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
};
const HCM_URL = `type.googleapis.com/${T.hcm.fullName.slice(1)}`;
const EDS_DISCOVERY_TYPE = 3;
const VALUE_FIELDS = lookupType('google.protobuf.Value').fields;
const STRING_VALUE = VALUE_FIELDS['stringValue'] ? 'stringValue' : 'string_value';
const STRUCT_VALUE = VALUE_FIELDS['structValue'] ? 'structValue' : 'struct_value';

type Obj = Record<string, unknown>;
/** As protobufjs decodes google.protobuf.Any. */
interface AnyMsg {
  type_url: string;
  value: Uint8Array;
}
type TypeKey = 'listener' | 'cluster' | 'route' | 'endpoint';
const TYPE_OF = new Map<string, TypeKey>(
  (['listener', 'cluster', 'route', 'endpoint'] as const).map((k) => [TYPE_URLS[k], k]),
);

/** Field 1 (a string) of an encoded message: the name of a Listener, Cluster, RouteConfiguration or CLA. */
export function nameField(value: Uint8Array): string {
  if (value[0] !== 0x0a) return '';
  let len = 0;
  let shift = 0;
  let i = 1;
  for (; i < value.length; i++) {
    const b = value[i]!;
    len |= (b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) === 0) break;
  }
  return Buffer.from(value.buffer, value.byteOffset + i + 1, len).toString('utf8');
}

/** Route configuration names (listeners) or load assignment names (clusters) a resource refers to. */
function referencesOf(type: 'listener' | 'cluster', value: Uint8Array): string[] {
  if (type === 'cluster') {
    const c = T.cluster.decode(value) as unknown as { name: string; type: number; eds_cluster_config?: Obj | null };
    if (c.type !== EDS_DISCOVERY_TYPE) return [];
    const service = c.eds_cluster_config?.['service_name'];
    return [typeof service === 'string' && service !== '' ? service : c.name];
  }
  const l = T.listener.decode(value) as unknown as {
    filter_chains?: { filters?: { typed_config?: AnyMsg | null }[] }[];
    api_listener?: { api_listener?: AnyMsg | null } | null;
  };
  const anys: AnyMsg[] = [];
  for (const fc of l.filter_chains ?? [])
    for (const f of fc.filters ?? []) if (f.typed_config) anys.push(f.typed_config);
  if (l.api_listener?.api_listener) anys.push(l.api_listener.api_listener);
  const out: string[] = [];
  for (const a of anys) {
    if (a.type_url !== HCM_URL) continue;
    const hcm = T.hcm.decode(a.value) as unknown as { rds?: { route_config_name?: string } | null };
    if (hcm.rds?.route_config_name) out.push(hcm.rds.route_config_name);
  }
  return out;
}

/** References per (type, name, version), shared by all proxies of a worker: each resource is decoded once. */
const refCache = new Map<string, string[]>();
function cachedRefs(type: 'listener' | 'cluster', name: string, version: string, value: Uint8Array): string[] {
  const key = `${type}\n${name}\n${version}`;
  let refs = refCache.get(key);
  if (!refs) {
    refs = referencesOf(type, value);
    refCache.set(key, refs);
  }
  return refs;
}

function struct(values: Readonly<Record<string, string | Record<string, string>>>): Obj {
  const fields: Obj = {};
  for (const [k, v] of Object.entries(values)) {
    fields[k] = typeof v === 'string' ? { [STRING_VALUE]: v } : { [STRUCT_VALUE]: struct(v) };
  }
  return { fields };
}

/** The Envoy Node a Trellis sidecar announces (sidecar/src/main.ts nodeOf, sidecar/src/xds/ads-call.ts). */
function nodeOf(p: ProxySpec): Obj {
  return {
    id: p.id,
    cluster: p.service,
    metadata: struct({
      TRELLIS_PROXY: 'sidecar',
      TRELLIS_SERVICE: p.service,
      TRELLIS_ADDRESS: p.address,
      TRELLIS_PORT: String(p.port),
      TRELLIS_INBOUND_ADDRESS: '0.0.0.0',
      TRELLIS_OUTBOUND_PORT: '15001',
      TRELLIS_APP_PORT: '8080',
      TRELLIS_LABELS: { version: p.version },
    }),
    locality: { zone: 'zone-a' },
    user_agent_name: 'trellis-sidecar',
    user_agent_version: 'bench',
  };
}

/** Resources held per type: name → version (SotW: the response's version_info). */
interface TypeState {
  received: boolean;
  held: Map<string, string>;
  absent: Set<string>;
  /** References per held resource (listeners and clusters only). */
  refs: Map<string, string[]>;
  nonce: string;
  versionInfo: string;
}

export interface SimEvents {
  full(p: SimProxy, at: number): void;
  watched(p: SimProxy, watchId: number, at: number): void;
  reset(p: SimProxy, code: number, details: string): void;
  received(p: SimProxy, bytes: number): void;
}

export class SimProxy {
  readonly spec: ProxySpec;
  readonly #mode: Mode;
  readonly #address: string;
  readonly #events: SimEvents;
  readonly #types = new Map<TypeKey, TypeState>();
  /** RDS/EDS names requested on the current stream. */
  readonly #subscribed = new Map<'route' | 'endpoint', Set<string>>();
  readonly #watches: WatchSpec[] = [];
  #call: H2Call | undefined;
  #sendNode = true;
  #closed = false;
  #full = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(spec: ProxySpec, mode: Mode, address: string, events: SimEvents) {
    this.spec = spec;
    this.#mode = mode;
    this.#address = address;
    this.#events = events;
    for (const k of TYPE_OF.values()) {
      this.#types.set(k, {
        received: false,
        held: new Map(),
        absent: new Set(),
        refs: new Map(),
        nonce: '',
        versionInfo: '',
      });
    }
  }

  get connected(): boolean {
    return this.#call !== undefined;
  }

  /** Opens the stream (one connection of its own) and sends the first requests. */
  connect(): void {
    // As the sidecar (sidecar/src/xds/ads-call.ts): a first configuration fits in one flow-control window.
    const call: H2Call = new H2Call(this.#address, PATHS[this.#mode], 4 * 1024 * 1024, {
      message: (b) => this.#onData(b),
      status: (code, details) => this.#onStatus(call, code, details),
    });
    this.#call = call;
    this.#sendNode = true;
    this.#subscribed.clear();
    for (const s of this.#types.values()) s.nonce = '';
    for (const type of ['cluster', 'listener'] as const) {
      if (this.#mode === 'delta') {
        this.#send({
          type_url: TYPE_URLS[type],
          resource_names_subscribe: ['*'],
          initial_resource_versions: Object.fromEntries(this.#types.get(type)!.held),
        });
      } else this.#sotwRequest(type);
    }
    this.#follow();
  }

  /** Closes the stream and the connection (a proxy leaving). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#call?.cancel();
    this.#call = undefined;
  }

  /** From now on, reports the first ACKed response of watch.typeUrl with a resource named watch.namePrefix…. */
  watch(w: WatchSpec): void {
    this.#watches.push(w);
  }

  #onStatus(call: H2Call, code: number, details: string): void {
    if (this.#closed || call !== this.#call) return;
    this.#events.reset(this, code, details);
    this.#call = undefined;
    // Reconnect like the sidecar (backoff with jitter), keeping what it holds.
    this.#retry = setTimeout(() => this.connect(), 500 + Math.random() * 1000);
  }

  #send(request: Obj): void {
    if (this.#sendNode) request['node'] = nodeOf(this.spec);
    this.#sendNode = false;
    const type = this.#mode === 'delta' ? T.deltaRequest : T.sotwRequest;
    this.#call?.write(type.encode(type.fromObject(request)).finish());
  }

  #sotwRequest(type: TypeKey): void {
    const s = this.#types.get(type)!;
    const names = type === 'listener' || type === 'cluster' ? [] : [...(this.#subscribed.get(type) ?? [])].sort();
    this.#send({
      type_url: TYPE_URLS[type],
      version_info: s.versionInfo,
      resource_names: names,
      response_nonce: s.nonce,
    });
  }

  #onData(b: Buffer): void {
    const at = nowMs();
    if (!this.spec.extra) this.#events.received(this, b.length);
    let typeUrl: string;
    const names: string[] = [];
    if (this.#mode === 'delta') {
      const r = decodeDelta(b);
      typeUrl = r.typeUrl;
      const type = TYPE_OF.get(typeUrl);
      this.#send({ type_url: typeUrl, response_nonce: r.nonce });
      if (!type) return;
      const s = this.#types.get(type)!;
      s.received = true;
      for (const res of r.resources) {
        if (!res.value) continue;
        names.push(res.name);
        s.held.set(res.name, res.version);
        s.absent.delete(res.name);
        if (type === 'listener' || type === 'cluster') {
          s.refs.set(res.name, cachedRefs(type, res.name, res.version, res.value));
        }
      }
      for (const name of r.removed) {
        names.push(name);
        s.held.delete(name);
        s.refs.delete(name);
        s.absent.add(name);
      }
    } else {
      const r = decodeSotw(b);
      typeUrl = r.typeUrl;
      const type = TYPE_OF.get(typeUrl);
      if (!type) return;
      const s = this.#types.get(type)!;
      s.received = true;
      s.nonce = r.nonce;
      s.versionInfo = r.versionInfo;
      const wildcard = type === 'listener' || type === 'cluster';
      if (wildcard) {
        s.held.clear();
        s.refs.clear();
      }
      for (const value of r.resources) {
        const name = nameField(value);
        names.push(name);
        s.held.set(name, r.versionInfo);
        if (wildcard) s.refs.set(name, cachedRefs(type, name, r.versionInfo, value));
      }
      this.#sotwRequest(type);
    }
    this.#follow();
    this.#checkWatches(typeUrl, names, at);
    if (!this.#full && this.#isFull()) {
      this.#full = true;
      this.#events.full(this, at);
    }
  }

  /** Subscribes to the RDS/EDS names the held listeners and clusters refer to. */
  #follow(): void {
    for (const [type, from] of [
      ['route', 'listener'],
      ['endpoint', 'cluster'],
    ] as const) {
      const src = this.#types.get(from)!;
      if (!src.received) continue;
      const wanted = new Set<string>();
      for (const refs of src.refs.values()) for (const n of refs) wanted.add(n);
      const current = this.#subscribed.get(type);
      const add = [...wanted].filter((n) => !current?.has(n));
      const remove = current ? [...current].filter((n) => !wanted.has(n)) : [];
      if (current && add.length === 0 && remove.length === 0) continue;
      if (!current && wanted.size === 0) continue;
      this.#subscribed.set(type, wanted);
      if (this.#mode === 'sotw') {
        this.#sotwRequest(type);
        continue;
      }
      const request: Obj = {
        type_url: TYPE_URLS[type],
        resource_names_subscribe: add.sort(),
        resource_names_unsubscribe: remove.sort(),
      };
      if (!current) {
        const held = this.#types.get(type)!.held;
        request['initial_resource_versions'] = Object.fromEntries([...held].filter(([n]) => wanted.has(n)));
      }
      this.#send(request);
    }
  }

  #isFull(): boolean {
    for (const [type, from] of [
      ['route', 'listener'],
      ['endpoint', 'cluster'],
    ] as const) {
      const src = this.#types.get(from)!;
      if (!src.received) return false;
      const dst = this.#types.get(type)!;
      for (const refs of src.refs.values()) {
        for (const n of refs) if (!dst.held.has(n) && !dst.absent.has(n)) return false;
      }
    }
    return true;
  }

  #checkWatches(typeUrl: string, names: readonly string[], at: number): void {
    for (let i = 0; i < this.#watches.length; i++) {
      const w = this.#watches[i]!;
      if (w.typeUrl !== typeUrl) continue;
      if (w.namePrefix !== '' && !names.some((n) => n.startsWith(w.namePrefix))) continue;
      this.#watches.splice(i--, 1);
      this.#events.watched(this, w.watchId, at);
    }
  }

  /** Resources held per type (for a sanity line in the report). */
  counts(): Record<TypeKey, number> {
    const c = (k: TypeKey): number => this.#types.get(k)!.held.size;
    return { listener: c('listener'), cluster: c('cluster'), route: c('route'), endpoint: c('endpoint') };
  }
}
