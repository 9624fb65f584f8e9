// Measures the node of an ADS request on the wire, before decoding, so an oversized node is refused without ever
// becoming objects: the node and node.metadata bounds.
import { lookupType } from '@trellis/xds-protos';
import protobuf from 'protobufjs';
import { formatBytes, MAX_NODE_BYTES, MAX_NODE_METADATA_BYTES } from '../common/limits.ts';

const LENGTH_DELIMITED = 2;
const METADATA_FIELD = lookupType('envoy.config.core.v3.Node').fields['metadata']!.id;

export interface NodeSize {
  /** Bytes of the node (every occurrence of the field: protobuf merges repeated embedded messages). */
  node: number;
  metadata: number;
}

/** Bytes of every length-delimited occurrence of `field` at the top level of a message; calls `each` with them. */
function fieldBytes(bytes: Uint8Array, field: number, each?: (content: Uint8Array) => void): number {
  const reader = protobuf.Reader.create(bytes);
  let total = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === field && (tag & 7) === LENGTH_DELIMITED) {
      const length = reader.uint32();
      const start = reader.pos;
      reader.skip(length);
      total += length;
      each?.(bytes.subarray(start, start + length));
    } else {
      reader.skipType(tag & 7);
    }
  }
  return total;
}

/** The node's sizes in a request whose node is field `nodeField`; undefined when the bytes do not parse. */
export function measureNode(bytes: Uint8Array, nodeField: number): NodeSize | undefined {
  try {
    let metadata = 0;
    const node = fieldBytes(bytes, nodeField, (content) => {
      metadata += fieldBytes(content, METADATA_FIELD);
    });
    return { node, metadata };
  } catch {
    return undefined;
  }
}

/** Why a request's node is refused (naming the limit), or undefined when it is within the bounds. */
export function oversizedNode(bytes: Uint8Array, nodeField: number): string | undefined {
  const size = measureNode(bytes, nodeField);
  if (!size) return undefined;
  if (size.metadata > MAX_NODE_METADATA_BYTES) {
    return `node.metadata is ${size.metadata} bytes encoded, at most ${MAX_NODE_METADATA_BYTES} (${formatBytes(MAX_NODE_METADATA_BYTES)}, the control plane's node metadata limit)`;
  }
  if (size.node > MAX_NODE_BYTES) {
    return `node is ${size.node} bytes encoded, at most ${MAX_NODE_BYTES} (${formatBytes(MAX_NODE_BYTES)}, the control plane's node limit)`;
  }
  return undefined;
}
