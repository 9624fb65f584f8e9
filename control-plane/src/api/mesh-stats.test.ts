// MeshStats helpers: where a sidecar's admin server is reached (announced address, or its peer for wildcards).
import { expect } from 'chai';
import type { ProxyStatus } from '../xds/proxy-status.ts';
import { adminAddressOf, adminTarget, normalizeIp, peerHost } from './mesh-stats.ts';

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
  const NOT_LOCAL: ReadonlySet<string> = new Set();
  const at = (address: unknown, port: unknown, peer?: string, local = NOT_LOCAL) =>
    adminTarget(proxy({ TRELLIS_ADMIN_ADDRESS: address, TRELLIS_ADMIN_PORT: port }, peer), local);

  it('reads the peer formats grpc-js gives (IPv4, bracketed, and unbracketed from a server bound on ::)', () => {
    expect(peerHost('127.0.0.1:5000')).to.equal('127.0.0.1');
    expect(peerHost('ipv4:192.168.0.1:80')).to.equal('192.168.0.1');
    expect(peerHost('[::1]:5000')).to.equal('::1');
    expect(peerHost('::1:44032')).to.equal('::1');
    expect(peerHost('::ffff:127.0.0.1:49426')).to.equal('127.0.0.1');
    expect(peerHost('FD00::7:9')).to.equal('fd00::7');
    expect(peerHost('unix:/tmp/x')).to.equal(undefined);
    expect(normalizeIp('::FFFF:10.1.2.3')).to.equal('10.1.2.3');
    expect(normalizeIp('127.evil.example')).to.equal(undefined);
  });

  it('scrapes where the proxy connects from: its own address, a wildcard bind there, loopback on this machine', () => {
    expect(at('10.1.2.3', '15000')).to.deep.equal({ address: '10.1.2.3:15000' });
    // A dual-stack control plane sees IPv4 peers as IPv4-mapped IPv6.
    expect(at('10.1.2.3', '15000', '::ffff:10.1.2.3:5555')).to.deep.equal({ address: '10.1.2.3:15000' });
    expect(at('0.0.0.0', '15000')).to.deep.equal({ address: '10.1.2.3:15000' });
    expect(at('::', 15000, '[fd00::7]:9')).to.deep.equal({ address: '[fd00::7]:15000' });
    expect(at('FD00::7', 15000, 'fd00::7:9')).to.deep.equal({ address: '[fd00::7]:15000' });
    expect(at('127.0.0.1', '15000', 'ipv4:127.0.0.1:5555')).to.deep.equal({ address: '127.0.0.1:15000' });
    expect(at('127.0.0.1', '15000', '::ffff:127.0.0.1:5555')).to.deep.equal({ address: '127.0.0.1:15000' });
    expect(at('::1', '1', '::1:5555')).to.deep.equal({ address: '[::1]:1' });
    // On this machine but connecting over its LAN address: its loopback is ours.
    expect(at('127.0.0.1', '15000', '10.1.2.3:5555', new Set(['10.1.2.3']))).to.deep.equal({
      address: '127.0.0.1:15000',
    });
    expect(adminAddressOf(proxy({ TRELLIS_ADMIN_ADDRESS: '::1', TRELLIS_ADMIN_PORT: '1' }, '[::1]:9'))).to.equal(
      '[::1]:1',
    );
  });

  it('never fetches from another address a proxy names (the control plane is no proxy for its clients)', () => {
    for (const named of ['169.254.169.254', '10.9.9.9', '127.0.0.1']) {
      const target = at(named, '80');
      expect(target, named)
        .to.have.property('error')
        .that.matches(/is not where the proxy connects from \(10\.1\.2\.3\)/);
    }
    // Names are never resolved: a loopback-looking name could point anywhere.
    for (const named of ['127.evil.example', 'localhost', 'metadata.internal']) {
      expect(at(named, '80', '127.0.0.1:5555'), named)
        .to.have.property('error')
        .that.matches(/is not an IP address/);
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
