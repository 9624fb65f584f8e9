// The grpc-js service definition of envoy.service.discovery.v3.AggregatedDiscoveryService (SotW and Delta streams).
import type { MethodDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import {
  type DeltaRequest,
  decodeDeltaRequest,
  decodeSotwRequest,
  type MalformedRequest,
  MESSAGE_TYPES,
  type SotwRequest,
} from './messages.ts';
import type { PreEncoded } from './shared-responses.ts';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

export const ADS_PATHS = {
  sotw: `/${SERVICE}/StreamAggregatedResources`,
  delta: `/${SERVICE}/DeltaAggregatedResources`,
} as const;

/** Client-side halves (unused by the server, but part of a grpc-js MethodDefinition). */
function encodeObject(type: protobuf.Type): (value: object) => Buffer {
  return (value) => Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
}

/** Responses are encoded before they are written (shared between streams: shared-responses.ts). */
const writeEncoded = (response: PreEncoded): Buffer => response.encoded;
const readEncoded = (bytes: Buffer): PreEncoded => ({ encoded: bytes, nonce: '' });

export type SotwMethod = MethodDefinition<SotwRequest | MalformedRequest, PreEncoded>;
export type DeltaMethod = MethodDefinition<DeltaRequest | MalformedRequest, PreEncoded>;

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
    responseSerialize: writeEncoded,
    responseDeserialize: readEncoded,
  },
  DeltaAggregatedResources: {
    path: ADS_PATHS.delta,
    requestStream: true,
    responseStream: true,
    originalName: 'deltaAggregatedResources',
    requestSerialize: encodeObject(MESSAGE_TYPES.deltaRequest),
    requestDeserialize: decodeDeltaRequest,
    responseSerialize: writeEncoded,
    responseDeserialize: readEncoded,
  },
};
