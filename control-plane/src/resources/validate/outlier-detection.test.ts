// outlierDetection validation: consecutive detectors, local-origin splitting, ejection times, statistical detectors.
import { expectErrors, policyErrors } from './testing.ts';

const od = (outlierDetection: unknown) => policyErrors({ outlierDetection });

describe('validate outlierDetection', () => {
  it('accepts every detector', () => {
    expectErrors(od, [
      [
        {
          consecutive5xx: 5,
          consecutiveGatewayErrors: 3,
          splitExternalLocalOriginErrors: true,
          consecutiveLocalOriginFailures: 2,
          interval: '5s',
          baseEjectionTime: '30s',
          maxEjectionTime: '30s',
          maxEjectionPercent: 0,
          successRate: { minimumHosts: 3, requestVolume: 100, stdevFactor: 1.9 },
          failurePercentage: { threshold: 0, minimumHosts: 1, requestVolume: 1 },
        },
        [],
      ],
      [{ successRate: {}, failurePercentage: {} }, []],
      [{ splitExternalLocalOriginErrors: false }, []],
    ]);
  });

  it('counts local-origin failures only when they are split out', () => {
    const message =
      'spec.outlierDetection.consecutiveLocalOriginFailures: only counted with splitExternalLocalOriginErrors: true (local-origin errors are otherwise counted as 5xx)';
    expectErrors(od, [
      [{ consecutiveLocalOriginFailures: 3 }, [message]],
      [{ consecutiveLocalOriginFailures: 3, splitExternalLocalOriginErrors: false }, [message]],
      [
        { splitExternalLocalOriginErrors: 'yes', consecutiveLocalOriginFailures: 0 },
        [
          'spec.outlierDetection.consecutiveLocalOriginFailures: expected an integer from 1 to 4294967295, got 0',
          'spec.outlierDetection.splitExternalLocalOriginErrors: expected true or false, got "yes"',
          message,
        ],
      ],
    ]);
  });

  it('checks ejection times', () => {
    expectErrors(od, [
      [
        { baseEjectionTime: '30s', maxEjectionTime: '10s' },
        ['spec.outlierDetection.maxEjectionTime: expected at least baseEjectionTime (30s), got "10s"'],
      ],
      [
        { maxEjectionTime: '0s' },
        ['spec.outlierDetection.maxEjectionTime: expected a duration > 0 such as "5s" or "500ms", got "0s"'],
      ],
    ]);
  });

  it('checks the statistical detectors', () => {
    expectErrors(od, [
      [
        { successRate: { minimumHosts: 0, requestVolume: 1.5, stdevFactor: 0, window: 1 } },
        [
          'spec.outlierDetection.successRate.window: unknown field, expected one of minimumHosts|requestVolume|stdevFactor',
          'spec.outlierDetection.successRate.minimumHosts: expected an integer from 1 to 4294967295, got 0',
          'spec.outlierDetection.successRate.requestVolume: expected an integer from 1 to 4294967295, got 1.5',
          'spec.outlierDetection.successRate.stdevFactor: expected a number from 0.001 to 4294967, got 0',
        ],
      ],
      [
        { failurePercentage: { threshold: 101 } },
        ['spec.outlierDetection.failurePercentage.threshold: expected an integer from 0 to 100, got 101'],
      ],
      [{ successRate: true }, ['spec.outlierDetection.successRate: expected a mapping, got true']],
    ]);
  });
});
