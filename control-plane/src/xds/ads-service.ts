// The grpc-js service definition of envoy.service.discovery.v3.AggregatedDiscoveryService (SotW and Delta streams).
import type { MethodDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import {
  type DeltaRequest,
  type DeltaResponse,
  decodeDeltaRequest,
  decodeSotwRequest,
  encodeDeltaResponse,
  encodeSotwResponse,
  type MalformedRequest,
  MESSAGE_TYPES,
  type SotwRequest,
  type SotwResponse,
} from './messages.ts';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

export const ADS_PATHS = {
  sotw: `/${SERVICE}/StreamAggregatedResources`,
  delta: `/${SERVICE}/DeltaAggregatedResources`,
} as const;

/** Client-side halves (unused by the server, but part of a grpc-js MethodDefinition). */
function encodeObject(type: protobuf.Type): (value: object) => Buffer {
  return (value) => Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
}

function decodeObject<T>(type: protobuf.Type): (bytes: Buffer) => T {
  return (bytes) => type.toObject(type.decode(bytes), { longs: String, enums: String, arrays: true }) as T;
}

export type SotwMethod = MethodDefinition<SotwRequest | MalformedRequest, SotwResponse>;
export type DeltaMethod = MethodDefinition<DeltaRequest | MalformedRequest, DeltaResponse>;

export const adsServiceDefinition: {
  StreamAggregatedResources: SotwMethod;
  DeltaAggregatedResources: DeltaMethod;
} = {
  StreamAggregatedResources: {
    path: ADS_PATHS.sotw,
    requestStream: true,
    responseStream: true,
    originalName: 'streamAggregatedResources',
    requestSerialize: encodeObject(MESSAGE_TYPES.sotwRequest),
    requestDeserialize: decodeSotwRequest,
    responseSerialize: encodeSotwResponse,
    responseDeserialize: decodeObject<SotwResponse>(MESSAGE_TYPES.sotwResponse),
  },
  DeltaAggregatedResources: {
    path: ADS_PATHS.delta,
    requestStream: true,
    responseStream: true,
    originalName: 'deltaAggregatedResources',
    requestSerialize: encodeObject(MESSAGE_TYPES.deltaRequest),
    requestDeserialize: decodeDeltaRequest,
    responseSerialize: encodeDeltaResponse,
    responseDeserialize: decodeObject<DeltaResponse>(MESSAGE_TYPES.deltaResponse),
  },
};
