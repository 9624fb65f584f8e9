// ADS request/response messages as the streams see them, decoded defensively so a malformed request never throws.
import { type AnyMessage, lookupType } from '@trellis/xds-protos';
import type protobuf from 'protobufjs';
import { oversizedNode } from './node-size.ts';

type Obj = Record<string, unknown>;

/** google.rpc.Status as a NACK carries it. */
export interface ErrorDetail {
  code: number;
  message: string;
}

export interface SotwRequest {
  kind: 'sotw';
  version_info: string;
  node?: Obj;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: ErrorDetail;
}

export interface DeltaRequest {
  kind: 'delta';
  node?: Obj;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: ErrorDetail;
}

/** A request whose bytes did not decode, or whose node passes its bounds; the stream ends with INVALID_ARGUMENT. */
export interface MalformedRequest {
  kind: 'malformed';
  error: string;
}

export interface SotwResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

export interface DeltaResource {
  name: string;
  version: string;
  resource: AnyMessage;
}

export interface DeltaResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

export const MESSAGE_TYPES = {
  sotwRequest: lookupType('envoy.service.discovery.v3.DiscoveryRequest'),
  sotwResponse: lookupType('envoy.service.discovery.v3.DiscoveryResponse'),
  deltaRequest: lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
  deltaResponse: lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
} as const;

const NODE_FIELD = {
  sotw: MESSAGE_TYPES.sotwRequest.fields['node']!.id,
  delta: MESSAGE_TYPES.deltaRequest.fields['node']!.id,
} as const;

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false, arrays: true };

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function asObj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function errorDetail(v: unknown): { error_detail: ErrorDetail } | Record<string, never> {
  const status = asObj(v);
  if (!status) return {};
  return { error_detail: { code: Number(status['code'] ?? 0), message: str(status['message']) } };
}

/** Decodes a request whose node is within its bounds (measured first on the wire, so an oversized one stays bytes). */
function decode(type: protobuf.Type, bytes: Uint8Array, nodeField: number): Obj | MalformedRequest {
  const refused = oversizedNode(bytes, nodeField);
  if (refused) return { kind: 'malformed', error: refused };
  try {
    return type.toObject(type.decode(bytes), TO_OBJECT);
  } catch (err) {
    return { kind: 'malformed', error: `cannot decode ${type.name}: ${err instanceof Error ? err.message : err}` };
  }
}

function isMalformed(o: Obj | MalformedRequest): o is MalformedRequest {
  return o['kind'] === 'malformed';
}

/** Decodes a DiscoveryRequest; never throws. */
export function decodeSotwRequest(bytes: Uint8Array): SotwRequest | MalformedRequest {
  const o = decode(MESSAGE_TYPES.sotwRequest, bytes, NODE_FIELD.sotw);
  if (isMalformed(o)) return o;
  const node = asObj(o['node']);
  return {
    kind: 'sotw',
    version_info: str(o['version_info']),
    ...(node ? { node } : {}),
    resource_names: strings(o['resource_names']),
    type_url: str(o['type_url']),
    response_nonce: str(o['response_nonce']),
    ...errorDetail(o['error_detail']),
  };
}

/** Decodes a DeltaDiscoveryRequest; never throws. */
export function decodeDeltaRequest(bytes: Uint8Array): DeltaRequest | MalformedRequest {
  const o = decode(MESSAGE_TYPES.deltaRequest, bytes, NODE_FIELD.delta);
  if (isMalformed(o)) return o;
  const node = asObj(o['node']);
  const initial: Record<string, string> = {};
  for (const [name, version] of Object.entries(asObj(o['initial_resource_versions']) ?? {})) {
    initial[name] = str(version);
  }
  return {
    kind: 'delta',
    ...(node ? { node } : {}),
    type_url: str(o['type_url']),
    resource_names_subscribe: strings(o['resource_names_subscribe']),
    resource_names_unsubscribe: strings(o['resource_names_unsubscribe']),
    initial_resource_versions: initial,
    response_nonce: str(o['response_nonce']),
    ...errorDetail(o['error_detail']),
  };
}

/** The bytes as a Buffer without copying them (protobufjs gives a Buffer on Node already). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeSotwResponse(response: SotwResponse): Buffer {
  return asBuffer(MESSAGE_TYPES.sotwResponse.encode(response).finish());
}

export function encodeDeltaResponse(response: DeltaResponse): Buffer {
  return asBuffer(MESSAGE_TYPES.deltaResponse.encode(response).finish());
}
