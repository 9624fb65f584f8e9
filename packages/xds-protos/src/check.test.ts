// The shape check with its per-type caches: bad shapes are refused with the same messages, every time.
import { expect } from 'chai';
import { checkShape } from './check.ts';
import { TYPE_URLS } from './type-urls.ts';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

describe('checkShape', () => {
  const cases: [string, Record<string, unknown>, string | undefined][] = [
    [CLUSTER, { name: 'a', lb_policy: 'RING_HASH', type: 2 }, undefined],
    [CLUSTER, { name: 'a', lb_policy: 'FASTEST' }, 'lb_policy: expected one of'],
    [CLUSTER, { name: 'a', type: 99 }, 'type: expected one of'],
    [CLUSTER, { name: 'a', lb_policy: 'toString' }, 'lb_policy: expected one of'],
    [CLUSTER, { name: 1 }, 'name: expected a string, got 1'],
    [CLUSTER, { name: 'a', bogus: true }, `bogus: no such field in ${CLUSTER}`],
    [CLUSTER, { name: 'a', connect_timeout: 5 }, 'connect_timeout: expected an object'],
    [CLUSTER, { name: 'a', connect_timeout: { seconds: 'x' } }, 'connect_timeout.seconds: expected a number, got "x"'],
    [CLUSTER, { name: 'a', connect_timeout: { seconds: '12' } }, undefined],
    [CLUSTER, { name: 'a', health_checks: {} }, 'health_checks: expected a list'],
    [CLUSTER, { name: 'a', health_checks: [5] }, 'health_checks[0]: expected an object'],
    [CLUSTER, { name: 'a', metadata: { filter_metadata: { x: { fields: {} } } } }, undefined],
    [
      CLUSTER,
      { name: 'a', metadata: { filter_metadata: { x: 1 } } },
      'metadata.filter_metadata["x"]: expected an object',
    ],
    [
      CLUSTER,
      { name: 'a', typed_extension_protocol_options: { x: {} } },
      `typed_extension_protocol_options["x"]: an Any needs '@type'`,
    ],
    [
      CLUSTER,
      { name: 'a', typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/nope.Nope' } } },
      `typed_extension_protocol_options["x"]['@type']: unknown type type.googleapis.com/nope.Nope`,
    ],
    [
      'envoy.config.listener.v3.Listener',
      { name: 'l', api_listener: { api_listener: { '@type': HCM, stat_prefix: 's', bogus: 1 } } },
      'api_listener.api_listener.bogus: no such field in envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    ],
    [
      TYPE_URLS.endpoint.slice(TYPE_URLS.endpoint.lastIndexOf('/') + 1),
      { cluster_name: 'c', endpoints: [{}] },
      undefined,
    ],
  ];
  for (const [type, object, error] of cases) {
    it(`${error ?? 'accepts'}: ${JSON.stringify(object)}`, () => {
      for (let round = 0; round < 2; round++) {
        const got = checkShape(type, object);
        if (error === undefined) expect(got).to.equal(undefined);
        else
          expect(got)
            .to.be.a('string')
            .and.satisfy((m: string) => m.startsWith(error));
      }
    });
  }
});
