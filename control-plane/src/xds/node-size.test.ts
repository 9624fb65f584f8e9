// measureNode / oversizedNode: a request's node and node.metadata sizes read from the wire, without decoding.
import { lookupType } from '@trellis/xds-protos';
import { expect } from 'chai';
import { MAX_NODE_BYTES, MAX_NODE_METADATA_BYTES } from '../common/limits.ts';
import { MESSAGE_TYPES } from './messages.ts';
import { measureNode, oversizedNode } from './node-size.ts';

const NODE_FIELD = MESSAGE_TYPES.sotwRequest.fields['node']!.id;

function request(node: Record<string, unknown> | undefined): Uint8Array {
  const type = MESSAGE_TYPES.sotwRequest;
  return type.encode(type.fromObject({ type_url: 't', ...(node ? { node } : {}) })).finish();
}

const meta = (value: string) => ({ fields: { K: { stringValue: value } } });

describe('node size on the wire', () => {
  // A one-entry Struct of key K and an L-character string takes L + 12 bytes (L + 15 from 16 KiB on).
  it('measures the node and its metadata as encoded', () => {
    const node = { id: 'n', metadata: meta('x'.repeat(1000)) };
    const Node = lookupType('envoy.config.core.v3.Node');
    const nodeBytes = Node.encode(Node.fromObject(node)).finish().length;
    expect(measureNode(request(node), NODE_FIELD)).to.deep.equal({ node: nodeBytes, metadata: 1000 + 12 });
    expect(measureNode(request(undefined), NODE_FIELD)).to.deep.equal({ node: 0, metadata: 0 });
  });

  it('adds up a node field repeated in one message (protobuf merges them)', () => {
    const one = request({ metadata: meta('a'.repeat(40_000)) });
    const twice = Buffer.concat([one, one]);
    expect(measureNode(twice, NODE_FIELD)?.metadata).to.equal(2 * (40_000 + 15));
    expect(oversizedNode(twice, NODE_FIELD)).to.match(/^node\.metadata is 80030 bytes encoded, at most 65536 /);
  });

  it('refuses past each bound, names the limit, and leaves bytes it cannot parse to the decoder', () => {
    expect(
      oversizedNode(request({ id: 'n', metadata: meta('x'.repeat(MAX_NODE_METADATA_BYTES)) }), NODE_FIELD),
    ).to.match(/^node\.metadata is \d+ bytes encoded, at most 65536 \(64 KiB/);
    expect(oversizedNode(request({ id: 'x'.repeat(MAX_NODE_BYTES) }), NODE_FIELD)).to.match(
      /^node is \d+ bytes encoded, at most 131072 \(128 KiB/,
    );
    expect(oversizedNode(request({ id: 'n', metadata: meta('small') }), NODE_FIELD)).to.equal(undefined);
    expect(oversizedNode(Uint8Array.from([0x12, 0xff, 0xff, 0x03]), NODE_FIELD)).to.equal(undefined);
  });
});
