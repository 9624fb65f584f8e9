// healthCheck validation: exactly one probe kind, http path/host/statuses, durations and thresholds.
import { expect } from 'chai';
import { statusRange } from './health-check.ts';
import { expectErrors, policyErrors } from './testing.ts';

const hc = (healthCheck: unknown) => policyErrors({ healthCheck });

describe('validate healthCheck', () => {
  it('accepts each probe kind with timings', () => {
    expectErrors(hc, [
      [{ http: { path: '/healthz', host: 'orders.internal', expectedStatuses: [200, '200-299', '204-204'] } }, []],
      [{ tcp: {}, interval: '5s', timeout: '1s', healthyThreshold: 1, unhealthyThreshold: 2, jitter: '0s' }, []],
      [{ grpc: {} }, []],
      [{ grpc: { serviceName: '' } }, []],
    ]);
  });

  it('wants exactly one probe', () => {
    expectErrors(hc, [
      [{ interval: '5s' }, ['spec.healthCheck: expected exactly one of http|tcp|grpc, got none']],
      [{ tcp: {}, grpc: {} }, ['spec.healthCheck: expected exactly one of http|tcp|grpc, got tcp and grpc']],
      [
        { tcp: { send: 'ping' } },
        ['spec.healthCheck.tcp: expected an empty mapping {} (connect-only probe), got a mapping'],
      ],
      [{ tcp: true }, ['spec.healthCheck.tcp: expected an empty mapping {} (connect-only probe), got true']],
      [
        { exec: {} },
        [
          'spec.healthCheck.exec: unknown field, expected one of http|tcp|grpc|interval|timeout|healthyThreshold|unhealthyThreshold|jitter',
          'spec.healthCheck: expected exactly one of http|tcp|grpc, got none',
        ],
      ],
    ]);
  });

  it('checks the http probe', () => {
    expectErrors(hc, [
      [{ http: {} }, ['spec.healthCheck.http.path: required, expected a path starting with "/"']],
      [{ http: { path: 'healthz' } }, ['spec.healthCheck.http.path: expected a path starting with "/", got "healthz"']],
      [{ http: { path: '/', host: '' } }, ['spec.healthCheck.http.host: expected a non-empty string, got ""']],
      [
        { http: { path: '/', expectedStatuses: [] } },
        ['spec.healthCheck.http.expectedStatuses: expected a non-empty list of status codes or ranges, got a list'],
      ],
      [
        { http: { path: '/', expectedStatuses: [200, 600, '299-200', '2xx', 204.5] } },
        [
          'spec.healthCheck.http.expectedStatuses[1]: expected a status code from 100 to 599 or a range such as "200-299", got 600',
          'spec.healthCheck.http.expectedStatuses[2]: expected a status code from 100 to 599 or a range such as "200-299", got "299-200"',
          'spec.healthCheck.http.expectedStatuses[3]: expected a status code from 100 to 599 or a range such as "200-299", got "2xx"',
          'spec.healthCheck.http.expectedStatuses[4]: expected a status code from 100 to 599 or a range such as "200-299", got 204.5',
        ],
      ],
      [{ grpc: { service: 'x' } }, ['spec.healthCheck.grpc.service: unknown field, expected one of serviceName']],
    ]);
  });

  it('checks timings and thresholds', () => {
    expectErrors(hc, [
      [
        { tcp: {}, interval: '0s', timeout: 1, jitter: 'soon', healthyThreshold: 0, unhealthyThreshold: -1 },
        [
          'spec.healthCheck.interval: expected a duration > 0 such as "5s" or "500ms", got "0s"',
          'spec.healthCheck.timeout: expected a duration > 0 such as "5s" or "500ms", got 1',
          'spec.healthCheck.jitter: expected a duration such as "2s" or "500ms", got "soon"',
          'spec.healthCheck.healthyThreshold: expected an integer from 1 to 4294967295, got 0',
          'spec.healthCheck.unhealthyThreshold: expected an integer from 1 to 4294967295, got -1',
        ],
      ],
    ]);
  });

  it('reads status codes and inclusive ranges', () => {
    expect([204, '200-299', '100-599', 99, '300-200', '20-299', 'x'].map(statusRange)).to.deep.equal([
      [204, 204],
      [200, 299],
      [100, 599],
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
