// MeshStats helpers: where a sidecar's admin server is reached (announced address, or its peer for wildcards).
import { expect } from 'chai';
import type { ProxyStatus } from '../xds/proxy-status.ts';
import { adminAddressOf, peerHost } from './mesh-stats.ts';

function proxy(metadata: Record<string, unknown>, peer = '10.1.2.3:5555'): ProxyStatus {
  return {
    streamId: '1',
    protocol: 'sotw',
    connectedAt: '',
    peer,
    types: [],
    node: {
      id: 'n',
      cluster: '',
      metadata,
      locality: { region: '', zone: '', sub_zone: '' },
      userAgentName: '',
      userAgentVersion: '',
      clientFeatures: [],
    },
  };
}

describe('mesh stats: admin addresses', () => {
  it('uses the announced address, the stream peer for wildcards, brackets IPv6', () => {
    expect(adminAddressOf(proxy({ TRELLIS_ADMIN_ADDRESS: '127.0.0.1', TRELLIS_ADMIN_PORT: '15000' }))).to.equal(
      '127.0.0.1:15000',
    );
    expect(adminAddressOf(proxy({ TRELLIS_ADMIN_ADDRESS: '0.0.0.0', TRELLIS_ADMIN_PORT: '15000' }))).to.equal(
      '10.1.2.3:15000',
    );
    expect(adminAddressOf(proxy({ TRELLIS_ADMIN_ADDRESS: '::', TRELLIS_ADMIN_PORT: 15000 }, '[fd00::7]:9'))).to.equal(
      '[fd00::7]:15000',
    );
    expect(adminAddressOf(proxy({ TRELLIS_ADMIN_ADDRESS: '::1', TRELLIS_ADMIN_PORT: '1' }))).to.equal('[::1]:1');
    expect(adminAddressOf(proxy({ TRELLIS_ADMIN_ADDRESS: '127.0.0.1' }))).to.equal(undefined);
    expect(adminAddressOf(proxy({ TRELLIS_ADMIN_PORT: '70000' }))).to.equal(undefined);
    expect(peerHost('ipv4:192.168.0.1:80')).to.equal('192.168.0.1');
    expect(peerHost('unix:/tmp/x')).to.equal(undefined);
  });
});
