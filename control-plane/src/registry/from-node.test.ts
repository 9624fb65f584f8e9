// endpointFromNode: which node metadata registers an endpoint, and the errors for unusable announcements.

import { NODE_META, type NodeInfo } from '@trellis/node-contract';
import { expect } from 'chai';
import { endpointFromNode, grpcPeerIp, peerIpOf } from './from-node.ts';

function node(metadata: Record<string, unknown>, zone = ''): NodeInfo {
  return {
    id: 'sidecar-1',
    cluster: '',
    metadata,
    locality: { region: '', zone, sub_zone: '' },
    userAgentName: 'trellis-sidecar',
    userAgentVersion: '0.1.0',
    clientFeatures: [],
  };
}

const BASE = { [NODE_META.service]: 'orders', [NODE_META.address]: '10.0.0.7', [NODE_META.port]: 15006 };

describe('endpointFromNode', () => {
  it('reads service, address, port, labels, weight, zone, and uses the node id as source', () => {
    const ep = endpointFromNode(
      node(
        { ...BASE, [NODE_META.labels]: { version: 'v2' }, [NODE_META.weight]: 3, [NODE_META.proxy]: 'sidecar' },
        'eu-1a',
      ),
    );
    expect(ep).to.deep.equal({
      service: 'orders',
      address: '10.0.0.7',
      port: 15006,
      labels: { version: 'v2' },
      weight: 3,
      zone: 'eu-1a',
      source: 'sidecar-1',
    });
  });

  it('returns undefined for a node that announces no service (a plain client)', () => {
    expect(endpointFromNode(node({}))).to.equal(undefined);
    expect(endpointFromNode(node({ [NODE_META.service]: '' }))).to.equal(undefined);
  });

  it('falls back to the peer IP when no address is announced, and accepts numeric strings', () => {
    const meta = { [NODE_META.service]: 'orders', [NODE_META.port]: '8080', [NODE_META.weight]: '2' };
    expect(endpointFromNode(node(meta), '192.168.1.4:53211')).to.include({
      address: '192.168.1.4',
      port: 8080,
      weight: 2,
    });
    expect(endpointFromNode(node(meta), 'ipv6:[::1]:5000')).to.include({ address: '::1' });
  });

  it('defaults labels to {} and weight to 1, and takes labels as a JSON string too', () => {
    expect(endpointFromNode(node(BASE)))
      .to.include({ weight: 1 })
      .and.to.have.deep.property('labels', {});
    expect(endpointFromNode(node({ ...BASE, [NODE_META.labels]: '{"track":"canary"}' }))).to.have.deep.property(
      'labels',
      {
        track: 'canary',
      },
    );
  });

  const errors: [string, Record<string, unknown>, RegExp][] = [
    ['a non-string service', { ...BASE, [NODE_META.service]: 7 }, /TRELLIS_SERVICE/],
    ['a hostname address', { ...BASE, [NODE_META.address]: 'orders.local' }, /TRELLIS_ADDRESS: expected an IP/],
    ['no address and no peer', { [NODE_META.service]: 'orders', [NODE_META.port]: 1 }, /TRELLIS_ADDRESS: not set/],
    ['a missing port', { ...BASE, [NODE_META.port]: undefined }, /TRELLIS_PORT/],
    ['port 0', { ...BASE, [NODE_META.port]: 0 }, /TRELLIS_PORT: expected a port number/],
    ['port 70000', { ...BASE, [NODE_META.port]: 70000 }, /TRELLIS_PORT/],
    ['a fractional port', { ...BASE, [NODE_META.port]: 80.5 }, /TRELLIS_PORT/],
    ['weight 0', { ...BASE, [NODE_META.weight]: 0 }, /TRELLIS_WEIGHT: expected an integer from 1 to 128, got 0/],
    [
      'weight 129',
      { ...BASE, [NODE_META.weight]: '129' },
      /TRELLIS_WEIGHT: expected an integer from 1 to 128, got "129"/,
    ],
    [
      'weight 2^32-1',
      { ...BASE, [NODE_META.weight]: 4294967295 },
      /TRELLIS_WEIGHT: expected an integer from 1 to 128, got 4294967295/,
    ],
    [
      'a long label value',
      { ...BASE, [NODE_META.labels]: { v: 'x'.repeat(64) } },
      /TRELLIS_LABELS\.v: expected a label value of at most 63/,
    ],
    [
      'a bad label key',
      { ...BASE, [NODE_META.labels]: { 'a b': 'v' } },
      /TRELLIS_LABELS\["a b"\]: expected a label key name/,
    ],
    ['labels as a list', { ...BASE, [NODE_META.labels]: ['a'] }, /TRELLIS_LABELS: expected an object/],
    ['a non-string label', { ...BASE, [NODE_META.labels]: { v: 2 } }, /TRELLIS_LABELS\.v: expected a string/],
    ['labels as bad JSON', { ...BASE, [NODE_META.labels]: '{nope' }, /TRELLIS_LABELS/],
  ];
  for (const [what, meta, re] of errors) {
    it(`reports ${what}`, () => {
      const r = endpointFromNode(node(meta));
      expect(r).to.have.property('error').that.matches(re);
    });
  }
});

describe('peerIpOf', () => {
  const table: [string | undefined, string | undefined][] = [
    ['127.0.0.1:5000', '127.0.0.1'],
    ['ipv4:10.1.2.3:80', '10.1.2.3'],
    ['[::1]:5000', '::1'],
    ['ipv6:[fe80::1]:5000', 'fe80::1'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['[::ffff:10.0.0.1]:443', '10.0.0.1'],
    ['2001:db8::1', '2001:db8::1'],
    ['10.0.0.9', '10.0.0.9'],
    ['unix:/tmp/sock', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [peer, ip] of table) {
    it(`${JSON.stringify(peer)} → ${ip ?? 'undefined'}`, () => {
      expect(peerIpOf(peer)).to.equal(ip);
    });
  }
});

describe('grpcPeerIp (grpc-js getPeer: address:port, IPv6 unbracketed)', () => {
  const table: [string | undefined, string | undefined][] = [
    ['127.0.0.1:5000', '127.0.0.1'],
    // The port is never read as the last group of an IPv6 address (a caller choosing its port would move its IP).
    ['2001:db8::1:5678', '2001:db8::1'],
    ['::1:43210', '::1'],
    ['::ffff:10.0.0.1:443', '10.0.0.1'],
    ['[fe80::1]:5000', 'fe80::1'],
    ['ipv4:10.1.2.3:80', '10.1.2.3'],
    ['10.0.0.9', undefined],
    ['unix:/tmp/sock', undefined],
    [undefined, undefined],
  ];
  for (const [peer, ip] of table) {
    it(`${JSON.stringify(peer)} → ${ip ?? 'undefined'}`, () => {
      expect(grpcPeerIp(peer)).to.equal(ip);
    });
  }
});
