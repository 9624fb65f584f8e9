// The client side of envoy.service.discovery.v3.AggregatedDiscoveryService: bidi calls with protobufjs codecs,
// the node identity as an Envoy Node (metadata as a google.protobuf.Struct), and the decoded message shapes.
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { CONTROL_PLANE_TLS_NAME } from '@trellis/identity';
import { type AnyMessage, lookupType } from '@trellis/xds-protos';
import type protobuf from 'protobufjs';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const ADS_PATHS = {
  sotw: `/${SERVICE}/StreamAggregatedResources`,
  delta: `/${SERVICE}/DeltaAggregatedResources`,
} as const;

export type AdsProtocol = keyof typeof ADS_PATHS;

const TYPES = {
  sotw: {
    request: lookupType('envoy.service.discovery.v3.DiscoveryRequest'),
    response: lookupType('envoy.service.discovery.v3.DiscoveryResponse'),
  },
  delta: {
    request: lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
    response: lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
  },
};

/** The sidecar's identity on every ADS stream. */
export interface NodeOptions {
  id: string;
  cluster: string;
  zone: string;
  /** String values, or flat string maps (e.g. TRELLIS_LABELS), sent as a google.protobuf.Struct. */
  metadata: Record<string, string | Record<string, string>>;
}

export interface ErrorDetail {
  code: number;
  message: string;
}

export interface SotwResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

export interface DeltaResponse {
  system_version_info: string;
  resources: { name: string; version: string; resource?: AnyMessage | null }[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

type Obj = Record<string, unknown>;

const USER_AGENT_VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** protobufjs defines Struct/Value itself with camelCase fields; a root that loaded struct.proto uses snake_case. */
const VALUE_FIELDS = lookupType('google.protobuf.Value').fields;
const STRING_VALUE = VALUE_FIELDS['stringValue'] ? 'stringValue' : 'string_value';
const STRUCT_VALUE = VALUE_FIELDS['structValue'] ? 'structValue' : 'struct_value';

function struct(values: Readonly<Record<string, string | Record<string, string>>>): Obj {
  const fields: Obj = {};
  for (const [k, v] of Object.entries(values)) {
    fields[k] = typeof v === 'string' ? { [STRING_VALUE]: v } : { [STRUCT_VALUE]: struct(v) };
  }
  return { fields };
}

/** The envoy.config.core.v3.Node message for these options. */
export function nodeMessage(node: NodeOptions): Obj {
  return {
    id: node.id,
    cluster: node.cluster,
    metadata: struct(node.metadata),
    locality: { zone: node.zone },
    user_agent_name: 'trellis-sidecar',
    user_agent_version: USER_AGENT_VERSION,
  };
}

function encoder(type: protobuf.Type): (o: Obj) => Buffer {
  return (o) => Buffer.from(type.encode(type.fromObject(o)).finish());
}

function decoder<T>(type: protobuf.Type): (b: Buffer) => T {
  return (b) => type.toObject(type.decode(b), { longs: String, enums: String, arrays: true, defaults: true }) as T;
}

export type AdsCall<Res> = grpc.ClientDuplexStream<Obj, Res>;

/** Opens an ADS stream of the given protocol on a channel. */
export function openAdsCall<P extends AdsProtocol>(
  client: grpc.Client,
  protocol: P,
): AdsCall<P extends 'delta' ? DeltaResponse : SotwResponse> {
  const types = TYPES[protocol];
  return client.makeBidiStreamRequest(ADS_PATHS[protocol], encoder(types.request), decoder(types.response));
}

/**
 * Channel options: client keepalive notices a control plane that vanished without closing the connection; a 4 MiB
 * HTTP/2 window lets a first configuration (600 KB for a sidecar of a 10,000-endpoint mesh) arrive in one round
 * trip instead of ten; responses up to 64 MiB are accepted (gRPC's default 4 MiB would cut a large mesh off
 * its configuration — the control plane is the sidecar's source of truth anyway).
 */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc-node.flow_control_window': 4 * 1024 * 1024,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

/** A channel to an xDS server ('host:port'): mTLS with the workload certificate, or plaintext without one. */
export function adsChannel(address: string, credentials?: grpc.ChannelCredentials): grpc.Client {
  if (credentials === undefined) return new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  return new grpc.Client(address, credentials, {
    ...CHANNEL_OPTIONS,
    'grpc.ssl_target_name_override': CONTROL_PLANE_TLS_NAME,
  });
}
