// outlier_detection: enforcing 100 for the detectors configured, 0 for the rest; proxyless gets the statistical ones.

import type { ClientKind } from '@trellis/node-contract';
import { expect } from 'chai';
import type { OutlierDetection } from '../resources/types.ts';
import { encodedCluster } from './fixtures.ts';

const od = (outlierDetection: OutlierDetection, client: ClientKind) =>
  encodedCluster({ outlierDetection }, client)['outlier_detection'];

const v = (value: number) => ({ value });
const OFF = { enforcing_success_rate: v(0), enforcing_failure_percentage: v(0) };

describe('outlier detection', () => {
  it('enforces only the consecutive detectors asked for, success rate off', () => {
    expect(
      od({ consecutiveGatewayErrors: 3, interval: '5s', baseEjectionTime: '30s', maxEjectionPercent: 150 }, 'sidecar'),
    ).to.deep.equal({
      enforcing_consecutive_5xx: v(0),
      consecutive_gateway_failure: v(3),
      enforcing_consecutive_gateway_failure: v(100),
      interval: { seconds: 5, nanos: 0 },
      base_ejection_time: { seconds: 30, nanos: 0 },
      max_ejection_percent: v(100),
      ...OFF,
    });
  });

  it('maps success rate (stdev factor in thousandths) and failure percentage', () => {
    expect(
      od(
        {
          consecutive5xx: 7,
          maxEjectionTime: '5m',
          successRate: { minimumHosts: 3, requestVolume: 20, stdevFactor: 1.9 },
          failurePercentage: { threshold: 90, minimumHosts: 4, requestVolume: 30 },
        },
        'envoy',
      ),
    ).to.deep.equal({
      consecutive_5xx: v(7),
      enforcing_consecutive_5xx: v(100),
      enforcing_consecutive_gateway_failure: v(0),
      max_ejection_time: { seconds: 300, nanos: 0 },
      enforcing_success_rate: v(100),
      success_rate_minimum_hosts: v(3),
      success_rate_request_volume: v(20),
      success_rate_stdev_factor: v(1900),
      enforcing_failure_percentage: v(100),
      failure_percentage_threshold: v(90),
      failure_percentage_minimum_hosts: v(4),
      failure_percentage_request_volume: v(30),
    });
  });

  it('splits local-origin errors, keeping the local-origin variants of unconfigured detectors off', () => {
    expect(
      od({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, successRate: {} }, 'sidecar'),
    ).to.deep.equal({
      enforcing_consecutive_5xx: v(0),
      enforcing_consecutive_gateway_failure: v(0),
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: v(2),
      enforcing_consecutive_local_origin_failure: v(100),
      enforcing_local_origin_success_rate: v(100),
      enforcing_failure_percentage_local_origin: v(0),
      enforcing_success_rate: v(100),
      enforcing_failure_percentage: v(0),
    });
    expect(od({ splitExternalLocalOriginErrors: true }, 'envoy')).to.include({
      split_external_local_origin_errors: true,
    });
    expect(od({ splitExternalLocalOriginErrors: true }, 'envoy')).to.deep.include({
      enforcing_consecutive_local_origin_failure: v(0),
      enforcing_local_origin_success_rate: v(0),
    });
  });

  it('gives proxyless clients only what gRPC implements, and nothing when that is none of it', () => {
    expect(od({ consecutive5xx: 5, interval: '5s' }, 'proxyless')).to.equal(undefined);
    expect(
      od(
        {
          consecutive5xx: 5,
          splitExternalLocalOriginErrors: true,
          consecutiveLocalOriginFailures: 1,
          interval: '5s',
          failurePercentage: { threshold: 50 },
        },
        'proxyless',
      ),
    ).to.deep.equal({
      interval: { seconds: 5, nanos: 0 },
      enforcing_success_rate: v(0),
      enforcing_failure_percentage: v(100),
      failure_percentage_threshold: v(50),
    });
  });

  it('is absent without an outlierDetection', () => {
    expect(encodedCluster(undefined, 'sidecar')['outlier_detection']).to.equal(undefined);
  });
});
