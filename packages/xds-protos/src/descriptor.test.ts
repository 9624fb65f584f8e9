// The generated descriptor the processes load: up to date with the .proto files (regenerate with
// `npm run protos:descriptor`), and a root made from it encodes and decodes as the root parsed from the protos does.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { anyOf, decodeAny, TYPE_URLS, xdsRoot } from './index.ts';
import { buildDescriptor, DESCRIPTOR_FILE, descriptorFingerprint, loadFromProtos } from './root.ts';

describe('xDS proto descriptor', () => {
  it('is the one the .proto files give now (npm run protos:descriptor after changing FILES or the package)', () => {
    const committed = JSON.parse(readFileSync(DESCRIPTOR_FILE, 'utf8')) as { fingerprint: string; root: unknown };
    expect(committed.fingerprint).to.equal(descriptorFingerprint());
    expect(committed.root).to.deep.equal(buildDescriptor().root);
  });

  it('gives the same bytes as the parsed protos for a listener with typed filters', () => {
    const listener = {
      name: 'inbound',
      address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type':
                  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: 'inbound',
                http_filters: [
                  {
                    name: 'envoy.filters.http.rbac',
                    typed_config: {
                      '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
                      rules: {
                        action: 'DENY',
                        policies: { p: { permissions: [{ any: true }], principals: [{ any: true }] } },
                      },
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
    };
    const parsed = loadFromProtos();
    const type = 'envoy.config.listener.v3.Listener';
    const fromDescriptor = xdsRoot.lookupType(type);
    const fromProtos = parsed.lookupType(type);
    const any = anyOf(TYPE_URLS.listener, listener);
    expect(Buffer.from(fromDescriptor.encode(fromDescriptor.decode(any.value)).finish())).to.deep.equal(
      Buffer.from(fromProtos.encode(fromProtos.decode(any.value)).finish()),
    );
    expect(decodeAny(any)['name']).to.equal('inbound');
  });
});
