// A raw ADS test client: SotW or Delta streams over @grpc/grpc-js with protobufjs codecs, awaiting responses by type.
import * as grpc from '@grpc/grpc-js';
import { decodeAny, lookupType } from '@trellis/xds-protos';
import type protobuf from 'protobufjs';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
const PATHS = { sotw: `/${SERVICE}/StreamAggregatedResources`, delta: `/${SERVICE}/DeltaAggregatedResources` };
const TYPES = {
  sotwRequest: lookupType('envoy.service.discovery.v3.DiscoveryRequest'),
  sotwResponse: lookupType('envoy.service.discovery.v3.DiscoveryResponse'),
  deltaRequest: lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
  deltaResponse: lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
};

type Obj = Record<string, unknown>;

export interface NodeSpec {
  id: string;
  cluster?: string;
  /** String-valued metadata, sent as a google.protobuf.Struct. */
  metadata?: Record<string, string>;
  user_agent_name?: string;
  locality?: { zone?: string };
}

export interface AnyValue {
  type_url: string;
  value: Uint8Array;
}

export interface SotwReply {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: AnyValue[];
  /** Names of the decoded resources, in order. */
  names: string[];
}

export interface DeltaReply {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: { name: string; version: string; resource: AnyValue }[];
  names: string[];
  removed_resources: string[];
}

function nodeMessage(node: NodeSpec): Obj {
  // protobufjs defines google.protobuf.Struct/Value itself, with camelCase fields even under keepCase.
  const fields: Obj = {};
  for (const [k, v] of Object.entries(node.metadata ?? {})) fields[k] = { stringValue: v };
  return {
    id: node.id,
    cluster: node.cluster ?? '',
    metadata: { fields },
    ...(node.user_agent_name ? { user_agent_name: node.user_agent_name } : {}),
    ...(node.locality ? { locality: node.locality } : {}),
  };
}

function nameOf(any: AnyValue): string {
  const o = decodeAny(any);
  return String(o['name'] ?? o['cluster_name'] ?? '');
}

function encoder(type: protobuf.Type): (o: Obj) => Buffer {
  return (o) => Buffer.from(type.encode(type.fromObject(o)).finish());
}

function decoder(type: protobuf.Type): (b: Buffer) => Obj {
  return (b) => type.toObject(type.decode(b), { longs: String, enums: String, arrays: true, defaults: true });
}

interface Waiter<T> {
  match: (item: T) => boolean;
  resolve: (item: T) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Responses in arrival order; `take` removes the first matching one, waiting a bounded time for it. */
class Inbox<T> {
  readonly items: T[] = [];
  readonly #waiters = new Set<Waiter<T>>();
  #ended: Error | undefined;

  push(item: T): void {
    for (const w of this.#waiters) {
      if (!w.match(item)) continue;
      this.#waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve(item);
      return;
    }
    this.items.push(item);
  }

  end(err: Error): void {
    this.#ended = err;
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#waiters.clear();
  }

  take(match: (item: T) => boolean, what: string, timeoutMs: number): Promise<T> {
    const i = this.items.findIndex(match);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]!);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      const waiter: Waiter<T> = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`no ${what} within ${timeoutMs}ms`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }
}

const Client = grpc.makeGenericClientConstructor(
  {
    StreamAggregatedResources: {
      path: PATHS.sotw,
      requestStream: true,
      responseStream: true,
      requestSerialize: encoder(TYPES.sotwRequest),
      requestDeserialize: decoder(TYPES.sotwRequest),
      responseSerialize: encoder(TYPES.sotwResponse),
      responseDeserialize: decoder(TYPES.sotwResponse),
    },
    DeltaAggregatedResources: {
      path: PATHS.delta,
      requestStream: true,
      responseStream: true,
      requestSerialize: encoder(TYPES.deltaRequest),
      requestDeserialize: decoder(TYPES.deltaRequest),
      responseSerialize: encoder(TYPES.deltaResponse),
      responseDeserialize: decoder(TYPES.deltaResponse),
    },
  },
  SERVICE,
);

type OpenStream = () => grpc.ClientDuplexStream<Obj, Obj>;

/** How to reach the server: plaintext by default, or TLS credentials (the control plane's mTLS port). */
export interface ChannelSpec {
  credentials: grpc.ChannelCredentials;
  options?: grpc.ChannelOptions;
}

/** Shared stream plumbing: node on the first request, an inbox of responses, the final status. */
abstract class AdsStream<Reply extends { type_url: string }> {
  /** Resolves with the stream's final status (never rejects). */
  readonly status: Promise<grpc.StatusObject>;
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<Obj, Obj>;
  readonly #inbox = new Inbox<Reply>();
  #node: Obj | undefined;

  protected constructor(address: string, method: keyof typeof PATHS, node: NodeSpec | null, channel?: ChannelSpec) {
    const client = new Client(
      address,
      channel?.credentials ?? grpc.credentials.createInsecure(),
      channel?.options ?? {},
    );
    this.#client = client;
    const open = client[method === 'sotw' ? 'StreamAggregatedResources' : 'DeltaAggregatedResources'] as OpenStream;
    this.#call = open.call(client);
    this.#node = node ? nodeMessage(node) : undefined;
    this.#call.on('data', (o: Obj) => this.#inbox.push(this.parse(o)));
    this.#call.on('error', () => {});
    this.status = new Promise((resolve) => {
      this.#call.on('status', (s: grpc.StatusObject) => {
        this.#inbox.end(new Error(`stream ended: ${grpc.status[s.code]} ${s.details}`));
        resolve(s);
      });
    });
  }

  protected abstract parse(o: Obj): Reply;

  /** Writes a request; the first one carries the node unless it sets node itself. */
  protected write(request: Obj): void {
    const withNode = this.#node && !('node' in request) ? { node: this.#node, ...request } : request;
    this.#node = undefined;
    this.#call.write(withNode);
  }

  /** The next response (of a type, when given) in arrival order. */
  next(typeUrl?: string, timeoutMs = 3000): Promise<Reply> {
    const what = typeUrl ? `response for ${typeUrl}` : 'response';
    return this.#inbox.take((r) => typeUrl === undefined || r.type_url === typeUrl, what, timeoutMs);
  }

  /** Responses received and not yet taken. */
  buffered(): Reply[] {
    return [...this.#inbox.items];
  }

  /** Stops reading responses (a slow proxy: grpc-js stops reading the HTTP/2 stream once its buffer is full). */
  pause(): void {
    this.#call.pause();
  }

  /** Reads responses again. */
  resume(): void {
    this.#call.resume();
  }

  /** Cancels the stream and closes the channel. */
  close(): void {
    this.#call.cancel();
    this.#client.close();
  }
}

export interface SotwRequestInit {
  type_url: string;
  resource_names?: string[];
  version_info?: string;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}

export class SotwClient extends AdsStream<SotwReply> {
  /** resource_names last sent per type, repeated by ack/nack. */
  readonly #names = new Map<string, string[]>();

  constructor(address: string, node: NodeSpec | null, channel?: ChannelSpec) {
    super(address, 'sotw', node, channel);
  }

  protected parse(o: Obj): SotwReply {
    const resources = (o['resources'] as AnyValue[]).map((r) => ({ type_url: r.type_url, value: r.value }));
    return {
      version_info: String(o['version_info']),
      type_url: String(o['type_url']),
      nonce: String(o['nonce']),
      resources,
      names: resources.map(nameOf),
    };
  }

  send(init: SotwRequestInit): void {
    const names = init.resource_names ?? [];
    this.#names.set(init.type_url, names);
    this.write({ ...init, resource_names: names });
  }

  /** Raw request (e.g. without a node, or with a node given explicitly). */
  sendRaw(request: Obj): void {
    this.write(request);
  }

  ack(reply: SotwReply, resourceNames?: string[]): void {
    this.send({
      type_url: reply.type_url,
      resource_names: resourceNames ?? this.#names.get(reply.type_url) ?? [],
      version_info: reply.version_info,
      response_nonce: reply.nonce,
    });
  }

  /** Rejects a reply, keeping the previously accepted version. */
  nack(reply: SotwReply, message: string, acceptedVersion = ''): void {
    this.send({
      type_url: reply.type_url,
      resource_names: this.#names.get(reply.type_url) ?? [],
      version_info: acceptedVersion,
      response_nonce: reply.nonce,
      error_detail: { code: 3, message },
    });
  }
}

export interface DeltaRequestInit {
  type_url: string;
  subscribe?: string[];
  unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}

export class DeltaClient extends AdsStream<DeltaReply> {
  constructor(address: string, node: NodeSpec | null, channel?: ChannelSpec) {
    super(address, 'delta', node, channel);
  }

  protected parse(o: Obj): DeltaReply {
    const resources = (o['resources'] as { name: string; version: string; resource: AnyValue }[]).map((r) => ({
      name: r.name,
      version: r.version,
      resource: { type_url: r.resource.type_url, value: r.resource.value },
    }));
    return {
      system_version_info: String(o['system_version_info']),
      type_url: String(o['type_url']),
      nonce: String(o['nonce']),
      resources,
      names: resources.map((r) => nameOf(r.resource)),
      removed_resources: o['removed_resources'] as string[],
    };
  }

  send(init: DeltaRequestInit): void {
    this.write({
      type_url: init.type_url,
      resource_names_subscribe: init.subscribe ?? [],
      resource_names_unsubscribe: init.unsubscribe ?? [],
      initial_resource_versions: init.initial_resource_versions ?? {},
      response_nonce: init.response_nonce ?? '',
      ...(init.error_detail ? { error_detail: init.error_detail } : {}),
    });
  }

  ack(reply: DeltaReply): void {
    this.send({ type_url: reply.type_url, response_nonce: reply.nonce });
  }

  nack(reply: DeltaReply, message: string): void {
    this.send({ type_url: reply.type_url, response_nonce: reply.nonce, error_detail: { code: 3, message } });
  }
}

/** A stream that writes raw bytes to an ADS method (to send garbage). */
export function rawStream(
  address: string,
  method: keyof typeof PATHS,
): { write(bytes: Buffer): void; status: Promise<grpc.StatusObject>; close(): void } {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    PATHS[method],
    (b: Buffer) => b,
    (b: Buffer) => b,
  );
  call.on('data', () => {});
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return {
    write: (bytes) => {
      call.write(bytes);
    },
    status,
    close: () => {
      call.cancel();
      client.close();
    },
  };
}
