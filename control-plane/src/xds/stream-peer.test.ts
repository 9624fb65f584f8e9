// Who may use an ADS stream on the mTLS port: only identities of the mesh's trust domain, and a node may claim only
// the service its certificate names; plaintext streams (the opt-in port) are not judged here.
import type { NodeInfo } from '@trellis/node-contract';
import { expect } from 'chai';
import { serviceBinding } from './stream-peer.ts';

const node = (metadata: Record<string, unknown>): NodeInfo => ({
  id: 'n',
  cluster: '',
  metadata,
  locality: { region: '', zone: '', sub_zone: '' },
  userAgentName: '',
  userAgentVersion: '',
  clientFeatures: [],
});

describe('ADS stream authorization (serviceBinding)', () => {
  const authorize = serviceBinding('mesh.test');
  const mtls = (spiffeId: string) => ({ transport: 'mtls' as const, spiffeId });

  it("admits the service's own identity, and clients claiming no service", () => {
    expect(authorize(node({ TRELLIS_SERVICE: 'web' }), mtls('spiffe://mesh.test/ns/default/sa/web'))).to.equal(
      undefined,
    );
    expect(authorize(node({}), mtls('spiffe://mesh.test/ns/shop/sa/anything'))).to.equal(undefined);
    expect(authorize(node({ TRELLIS_SERVICE: 'web' }), { transport: 'plaintext' })).to.equal(undefined);
  });

  it('refuses another service, and any identity of another trust domain', () => {
    expect(authorize(node({ TRELLIS_SERVICE: 'web' }), mtls('spiffe://mesh.test/ns/default/sa/orders'))).to.match(
      /claims service "web", but its certificate is spiffe:\/\/mesh\.test\/ns\/default\/sa\/orders/,
    );
    expect(authorize(node({}), mtls('spiffe://other.test/ns/default/sa/web'))).to.equal(
      "the client certificate's identity spiffe://other.test/ns/default/sa/web is not of trust domain mesh.test",
    );
  });
});
