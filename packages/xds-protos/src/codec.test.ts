// Round-trips resources through the Envoy protos: encoding keeps every field, and schema errors name the field.
import { expect } from 'chai';
import { anyOf, decodeAny, duration, encodeResource, TYPE_URLS } from './index.ts';

describe('xds-protos codec', () => {
  it('encodes and decodes a Cluster with nested Any and durations', () => {
    const any = anyOf(TYPE_URLS.cluster, {
      name: 'orders|8080',
      type: 'EDS',
      lb_policy: 'RING_HASH',
      connect_timeout: duration(1500),
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'orders|8080' },
    });
    const back = decodeAny(any);
    expect(back['name']).to.equal('orders|8080');
    expect(back['lb_policy']).to.equal('RING_HASH');
    expect(back['connect_timeout']).to.deep.equal({ seconds: 1, nanos: 500_000_000 });
  });

  it('rejects a field of the wrong type, naming its path', () => {
    expect(() =>
      encodeResource(TYPE_URLS.cluster, { name: 'x', per_connection_buffer_limit_bytes: { value: 'abc' } }),
    ).to.throw(/per_connection_buffer_limit_bytes\.value: expected a number/);
  });

  it('rejects unknown fields and enum values, inside nested Any too', () => {
    expect(() => encodeResource(TYPE_URLS.cluster, { name: 'x', lb_policy: 'FASTEST' })).to.throw(
      /lb_policy: expected one of/,
    );
    expect(() =>
      encodeResource(TYPE_URLS.listener, {
        name: 'l',
        api_listener: {
          api_listener: {
            '@type':
              'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            bogus: 1,
          },
        },
      }),
    ).to.throw(/api_listener\.api_listener\.bogus: no such field/);
  });
});
