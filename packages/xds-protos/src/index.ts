// Envoy xDS v3 protobuf types: one protobufjs Root loaded from the protos that ship with @grpc/grpc-js-xds.

export { checkShape } from './check.ts';
export { type AnyMessage, anyOf, decodeAny, encodeResource } from './codec.ts';
export { type DurationObject, duration, durationToMs } from './duration.ts';
export { EXTENSION_TYPES, typeUrl } from './extension-types.ts';
export { lookupType, protoIncludeDirs, xdsRoot } from './root.ts';
export { TYPE_URLS, typeUrlOf, XDS_TYPES, type XdsTypeKey, type XdsTypeUrl } from './type-urls.ts';
