// Node classification and snapshot groups: client kinds, sidecar params from metadata, group keys round-trip.
import { expect } from 'chai';
import {
  clientKindOf,
  NODE_META,
  type NodeInfo,
  nodeGroupOf,
  parseNodeGroup,
  parseTcpUpstreams,
  type SidecarParams,
  sidecarParamsOf,
} from './node.ts';

function node(metadata: Record<string, unknown>, userAgentName = ''): NodeInfo {
  return {
    id: 'n',
    cluster: '',
    metadata,
    locality: { region: '', zone: '', sub_zone: '' },
    userAgentName,
    userAgentVersion: '',
    clientFeatures: [],
  };
}

const SIDECAR = { [NODE_META.proxy]: 'sidecar' };

describe('node groups', () => {
  it('keeps one group per kind for proxyless clients and Envoy', () => {
    expect(nodeGroupOf(node({}))).to.equal('proxyless');
    expect(nodeGroupOf(node({ [NODE_META.service]: 'orders' }))).to.equal('proxyless');
    expect(nodeGroupOf(node({}, 'envoy'))).to.equal('envoy');
    expect(parseNodeGroup('proxyless')).to.deep.equal({ client: 'proxyless' });
    expect(parseNodeGroup('envoy')).to.deep.equal({ client: 'envoy' });
    expect(parseNodeGroup('sidecar')).to.deep.equal({ client: 'sidecar' });
  });

  it('reads sidecar params with defaults', () => {
    const n = node({ ...SIDECAR });
    expect(clientKindOf(n)).to.equal('sidecar');
    expect(sidecarParamsOf(n)).to.deep.equal({
      inboundAddress: '0.0.0.0',
      inboundPort: 15006,
      outboundPort: 15001,
      tcpUpstreams: [],
    });
  });

  it('reads every sidecar key (numbers as strings or numbers)', () => {
    const n = node({
      ...SIDECAR,
      [NODE_META.service]: 'orders',
      [NODE_META.appPort]: '8080',
      [NODE_META.port]: 15106,
      [NODE_META.inboundAddress]: '10.0.0.7',
      [NODE_META.outboundPort]: '15101',
      [NODE_META.tcpUpstreams]: 'redis:6379=16379, cache:7000=17000',
    });
    expect(sidecarParamsOf(n)).to.deep.equal({
      service: 'orders',
      appPort: 8080,
      inboundAddress: '10.0.0.7',
      inboundPort: 15106,
      outboundPort: 15101,
      tcpUpstreams: [
        { service: 'redis', port: 6379, localPort: 16379 },
        { service: 'cache', port: 7000, localPort: 17000 },
      ],
    });
  });

  const badUpstreams: [string, unknown][] = [
    ['no local port', 'redis:6379'],
    ['port out of range', 'redis:70000=1'],
    ['local port 0', 'redis:6379=0'],
    ['not a string', 42],
    ['empty', ''],
  ];
  for (const [label, value] of badUpstreams) {
    it(`leaves out a malformed TCP upstream (${label})`, () => {
      expect(parseTcpUpstreams(value)).to.deep.equal([]);
    });
  }

  it('keeps the good TCP upstream entries next to bad ones', () => {
    expect(parseTcpUpstreams('bad,redis:6379=16379,x:1=')).to.deep.equal([
      { service: 'redis', port: 6379, localPort: 16379 },
    ]);
  });

  it('falls back to defaults for unusable ports', () => {
    const p = sidecarParamsOf(node({ ...SIDECAR, [NODE_META.appPort]: 'http', [NODE_META.outboundPort]: 0 }));
    expect(p.appPort).to.equal(undefined);
    expect(p.outboundPort).to.equal(15001);
  });

  it('gives equal sidecar shapes one group and different shapes different groups', () => {
    const a = node({ ...SIDECAR, [NODE_META.service]: 'orders', [NODE_META.appPort]: '8080' });
    const b = node({ [NODE_META.appPort]: 8080, [NODE_META.service]: 'orders', ...SIDECAR, TRELLIS_LABELS: 'x' });
    const c = node({ ...SIDECAR, [NODE_META.service]: 'orders', [NODE_META.appPort]: '8081' });
    expect(nodeGroupOf(a)).to.equal(nodeGroupOf(b));
    expect(nodeGroupOf(a)).to.not.equal(nodeGroupOf(c));
    expect(nodeGroupOf(a)).to.match(/^sidecar:\{/);
  });

  it('parses a sidecar group back into its params', () => {
    const n = node({
      ...SIDECAR,
      [NODE_META.service]: 'orders',
      [NODE_META.appPort]: '8080',
      [NODE_META.tcpUpstreams]: 'redis:6379=16379',
    });
    const expected: SidecarParams = sidecarParamsOf(n);
    expect(parseNodeGroup(nodeGroupOf(n))).to.deep.equal({ client: 'sidecar', sidecar: expected });
    const bare = node({ ...SIDECAR });
    expect(parseNodeGroup(nodeGroupOf(bare))).to.deep.equal({ client: 'sidecar', sidecar: sidecarParamsOf(bare) });
  });

  it('rejects foreign or damaged group keys', () => {
    for (const g of ['default', 'sidecar:', 'sidecar:{', 'sidecar:{"inboundPort":1}', 'sidecar:null']) {
      expect(parseNodeGroup(g), g).to.equal(undefined);
    }
  });
});
