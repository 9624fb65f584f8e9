// retry_policy: conditions, retriable status codes, back-off, per client; route idle_timeout rides along.

import type { ClientKind } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { HttpRule, RetryPolicy } from '../resources/types.ts';
import { mesh, route, service } from './fixtures.ts';
import { retryPolicy } from './retry-policy.ts';
import { translate } from './translate.ts';

const policy = (retries: RetryPolicy, client: ClientKind) => retryPolicy(retries, client, () => {});

/** The first route action of RouteConfiguration orders:8080 for a one-rule Route, after checking every RC encodes. */
function firstAction(rule: Omit<HttpRule, 'route'>, client: ClientKind): Record<string, unknown> {
  const state = mesh({
    services: [service('orders', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] })],
    routes: [route('orders', { hosts: ['orders'], http: [{ ...rule, route: [{ service: 'orders' }] }] })],
  });
  const rcs = translate(state, client).route;
  for (const rc of rcs) anyOf(TYPE_URLS.route, rc);
  const rc = rcs.find((r) => r['name'] === 'orders:8080') as {
    virtual_hosts: { routes: { route: Record<string, unknown> }[] }[];
  };
  return rc.virtual_hosts[0]?.routes[0]?.route ?? {};
}

describe('retry policy', () => {
  it('adds retriable-status-codes with the codes, to the named conditions or the defaults', () => {
    expect(policy({ attempts: 2, retryOn: ['5xx'], retriableStatusCodes: [503, 429] }, 'sidecar')).to.deep.equal({
      retry_on: '5xx,retriable-status-codes',
      num_retries: { value: 2 },
      retriable_status_codes: [503, 429],
    });
    expect(policy({ attempts: 1, retriableStatusCodes: [409] }, 'envoy')?.['retry_on']).to.equal(
      'connect-failure,refused-stream,unavailable,cancelled,gateway-error,retriable-status-codes',
    );
    expect(
      policy({ attempts: 1, retryOn: ['retriable-status-codes'], retriableStatusCodes: [409] }, 'envoy')?.['retry_on'],
    ).to.equal('retriable-status-codes');
  });

  it('maps back-off for every client (gRPC reads it), status codes for proxies only', () => {
    const retries: RetryPolicy = {
      attempts: 3,
      perTryTimeout: '1s',
      retryOn: ['unavailable'],
      retriableStatusCodes: [503],
      backoff: { baseInterval: '25ms', maxInterval: '250ms' },
    };
    const back = { base_interval: { seconds: 0, nanos: 25_000_000 }, max_interval: { seconds: 0, nanos: 250_000_000 } };
    expect(policy(retries, 'proxyless')).to.deep.equal({
      retry_on: 'unavailable,retriable-status-codes',
      num_retries: { value: 3 },
      per_try_timeout: { seconds: 1, nanos: 0 },
      retry_back_off: back,
    });
    expect(policy(retries, 'sidecar')).to.deep.include({ retriable_status_codes: [503], retry_back_off: back });
    expect(policy({ attempts: 1, backoff: { baseInterval: '10ms' } }, 'envoy')?.['retry_back_off']).to.deep.equal({
      base_interval: { seconds: 0, nanos: 10_000_000 },
    });
  });

  it('keeps back-off intervals of 1s or more from proxyless clients (grpc-js-xds reads 1s as 10s)', () => {
    const warnings: string[] = [];
    const at = (backoff: RetryPolicy['backoff'], client: ClientKind) =>
      retryPolicy({ attempts: 1, ...(backoff && { backoff }) }, client, (m) => warnings.push(m))?.['retry_back_off'];
    expect(at({ baseInterval: '200ms', maxInterval: '2s' }, 'proxyless')).to.deep.equal({
      base_interval: { seconds: 0, nanos: 200_000_000 },
    });
    expect(at({ baseInterval: '1s' }, 'proxyless')).to.equal(undefined);
    expect(warnings).to.deep.equal([
      'retries.backoff.maxInterval: gRPC clients misread intervals of 1s or more (1s as 10s); left out for them',
      'retries.backoff: gRPC clients misread intervals of 1s or more (1s as 10s); back-off left out for them',
    ]);
    expect(at({ baseInterval: '1s', maxInterval: '2s' }, 'sidecar')).to.deep.equal({
      base_interval: { seconds: 1, nanos: 0 },
      max_interval: { seconds: 2, nanos: 0 },
    });
  });

  it('emits nothing for zero attempts', () => {
    expect(policy({ attempts: 0, retriableStatusCodes: [503] }, 'sidecar')).to.equal(undefined);
  });

  it('puts the policy and idle_timeout on encoded routes; proxyless gets no idle_timeout', () => {
    const rule = {
      idleTimeout: '30s',
      retries: { attempts: 2, retriableStatusCodes: [503], backoff: { baseInterval: '50ms' } },
    };
    for (const client of ['sidecar', 'envoy'] as const) {
      const action = firstAction(rule, client);
      expect(action['idle_timeout']).to.deep.equal({ seconds: 30, nanos: 0 });
      expect(action['retry_policy']).to.deep.include({ retriable_status_codes: [503] });
    }
    const grpc = firstAction(rule, 'proxyless');
    expect(grpc).to.not.have.property('idle_timeout');
    expect(grpc['retry_policy']).to.not.have.property('retriable_status_codes');
    expect(firstAction({ idleTimeout: '0s' }, 'sidecar')['idle_timeout']).to.deep.equal({ seconds: 0, nanos: 0 });
  });
});
