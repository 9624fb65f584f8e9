// MeshStats helpers: where a sidecar's admin server is reached (announced address, or its peer for wildcards).
import { expect } from 'chai';
import type { ProxyStatus } from '../xds/proxy-status.ts';
import { adminAddressOf, adminTarget, peerHost } from './mesh-stats.ts';

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
  const at = (address: unknown, port: unknown, peer?: string) =>
    adminTarget(proxy({ TRELLIS_ADMIN_ADDRESS: address, TRELLIS_ADMIN_PORT: port }, peer));

  it('scrapes where the proxy connects from: its own address, a wildcard bind there, loopback from loopback', () => {
    expect(at('10.1.2.3', '15000')).to.deep.equal({ address: '10.1.2.3:15000' });
    expect(at('0.0.0.0', '15000')).to.deep.equal({ address: '10.1.2.3:15000' });
    expect(at('::', 15000, '[fd00::7]:9')).to.deep.equal({ address: '[fd00::7]:15000' });
    expect(at('127.0.0.1', '15000', 'ipv4:127.0.0.1:5555')).to.deep.equal({ address: '127.0.0.1:15000' });
    expect(at('::1', '1', '[::1]:5555')).to.deep.equal({ address: '[::1]:1' });
    expect(adminAddressOf(proxy({ TRELLIS_ADMIN_ADDRESS: '::1', TRELLIS_ADMIN_PORT: '1' }, '[::1]:9'))).to.equal(
      '[::1]:1',
    );
    expect(peerHost('ipv4:192.168.0.1:80')).to.equal('192.168.0.1');
    expect(peerHost('unix:/tmp/x')).to.equal(undefined);
  });

  it('never fetches from another address a proxy names (the control plane is no proxy for its clients)', () => {
    for (const named of ['169.254.169.254', '10.9.9.9', '127.0.0.1', 'metadata.internal']) {
      const target = at(named, '80');
      expect(target, named)
        .to.have.property('error')
        .that.matches(/is not where the proxy connects from \(10\.1\.2\.3\)/);
    }
    expect(at(undefined, '15000'))
      .to.have.property('error')
      .that.matches(/no admin address announced/);
    expect(at('10.1.2.3', '70000'))
      .to.have.property('error')
      .that.matches(/no admin address announced/);
    expect(at('10.1.2.3', '1', 'unix:/tmp/x'))
      .to.have.property('error')
      .that.matches(/cannot tell where/);
  });
});
