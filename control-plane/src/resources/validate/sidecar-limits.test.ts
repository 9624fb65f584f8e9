// Service `sidecar` connection and stream limits, checked at apply with the field path and the accepted range.
import { expect } from 'chai';
import { expectErrors } from './testing.ts';
import { validateResource } from './validate.ts';

function sidecarErrors(sidecar: unknown): string[] {
  const spec = { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }], sidecar };
  const doc = { apiVersion: 'trellis.dev/v1', kind: 'Service', metadata: { name: 'orders' }, spec };
  const prefix = 'document 1 (Service orders): ';
  const { errors } = validateResource(doc, 'document 1');
  for (const e of errors) expect(e.startsWith(prefix), e).to.equal(true);
  return errors.map((e) => e.slice(prefix.length));
}

const DURATION = 'a duration from 0s (off) to 596h such as "10s" or "500ms"';

describe('validate Service sidecar limits', () => {
  it('accepts every limit, at both ends of its range', () => {
    expectErrors(sidecarErrors, [
      [
        {
          requestHeadersTimeout: '200ms',
          requestTimeout: '1m30s',
          streamIdleTimeout: '5m',
          idleTimeout: '1.5s',
          maxRequestsPerConnection: 1000,
          maxRequestHeadersKb: 96,
          maxHeadersCount: 200,
          http2: {
            maxConcurrentStreams: 7,
            initialStreamWindowSize: 1_048_576,
            initialConnectionWindowSize: 4_194_304,
          },
          maxConnections: 3,
        },
        [],
      ],
      [
        {
          requestHeadersTimeout: '0s',
          requestTimeout: '596h',
          streamIdleTimeout: '0ms',
          idleTimeout: '0s',
          maxRequestsPerConnection: 0,
          maxRequestHeadersKb: 1,
          maxHeadersCount: 1,
          http2: { maxConcurrentStreams: 1, initialStreamWindowSize: 65_535, initialConnectionWindowSize: 65_535 },
          maxConnections: 1,
        },
        [],
      ],
      [
        {
          maxRequestsPerConnection: 2_147_483_647,
          maxRequestHeadersKb: 8192,
          maxHeadersCount: 2_147_483_647,
          http2: {
            maxConcurrentStreams: 2_147_483_647,
            initialStreamWindowSize: 2_147_483_647,
            initialConnectionWindowSize: 2_147_483_647,
          },
          maxConnections: 2_147_483_647,
        },
        [],
      ],
      [{ http2: {} }, []],
    ]);
  });

  it('rejects a bad duration with the field path and the range', () => {
    expectErrors(sidecarErrors, [
      [{ requestHeadersTimeout: '-1s' }, [`spec.sidecar.requestHeadersTimeout: expected ${DURATION}, got "-1s"`]],
      [{ requestTimeout: 10 }, [`spec.sidecar.requestTimeout: expected ${DURATION}, got 10`]],
      [{ streamIdleTimeout: '5' }, [`spec.sidecar.streamIdleTimeout: expected ${DURATION}, got "5"`]],
      [{ idleTimeout: '597h' }, [`spec.sidecar.idleTimeout: expected ${DURATION}, got "597h"`]],
    ]);
  });

  it('rejects counts out of range, decimals and strings', () => {
    expectErrors(sidecarErrors, [
      [
        { maxRequestsPerConnection: -1 },
        ['spec.sidecar.maxRequestsPerConnection: expected an integer from 0 (unlimited) to 2147483647, got -1'],
      ],
      [{ maxRequestHeadersKb: 0 }, ['spec.sidecar.maxRequestHeadersKb: expected an integer from 1 to 8192, got 0']],
      [
        { maxRequestHeadersKb: 8193 },
        ['spec.sidecar.maxRequestHeadersKb: expected an integer from 1 to 8192, got 8193'],
      ],
      [{ maxHeadersCount: 0 }, ['spec.sidecar.maxHeadersCount: expected an integer from 1 to 2147483647, got 0']],
      [{ maxHeadersCount: 1.5 }, ['spec.sidecar.maxHeadersCount: expected an integer from 1 to 2147483647, got 1.5']],
      [{ maxConnections: 0 }, ['spec.sidecar.maxConnections: expected an integer from 1 to 2147483647, got 0']],
      [
        { maxConnectionsPerSecond: 0 },
        ['spec.sidecar.maxConnectionsPerSecond: expected an integer from 1 to 4294967295, got 0'],
      ],
      [{ maxConnections: '100' }, ['spec.sidecar.maxConnections: expected an integer from 1 to 2147483647, got "100"']],
      [
        { maxConnections: 2_147_483_648 },
        ['spec.sidecar.maxConnections: expected an integer from 1 to 2147483647, got 2147483648'],
      ],
      [
        { perConnectionBufferLimitBytes: -1 },
        [
          'spec.sidecar.perConnectionBufferLimitBytes: expected an integer from 0 (bodies stream at once) to 4294967295, got -1',
        ],
      ],
    ]);
  });

  it('rejects HTTP/2 streams and windows out of range, and unknown http2 fields', () => {
    expectErrors(sidecarErrors, [
      [
        { http2: { maxConcurrentStreams: 0 } },
        ['spec.sidecar.http2.maxConcurrentStreams: expected an integer from 1 to 2147483647, got 0'],
      ],
      [
        { http2: { initialStreamWindowSize: 65_534, initialConnectionWindowSize: 2_147_483_648 } },
        [
          'spec.sidecar.http2.initialStreamWindowSize: expected an integer from 65535 to 2147483647, got 65534',
          'spec.sidecar.http2.initialConnectionWindowSize: expected an integer from 65535 to 2147483647, got 2147483648',
        ],
      ],
      [{ http2: 100 }, ['spec.sidecar.http2: expected a mapping, got 100']],
      [
        { http2: { max_concurrent_streams: 7 } },
        [
          'spec.sidecar.http2.max_concurrent_streams: unknown field, expected one of maxConcurrentStreams|initialStreamWindowSize|initialConnectionWindowSize',
        ],
      ],
    ]);
  });

  it('reports every bad limit of one document', () => {
    const errors = sidecarErrors({ requestTimeout: 'soon', maxHeadersCount: -5, http2: { maxConcurrentStreams: 0 } });
    expect(errors).to.deep.equal([
      `spec.sidecar.requestTimeout: expected ${DURATION}, got "soon"`,
      'spec.sidecar.maxHeadersCount: expected an integer from 1 to 2147483647, got -5',
      'spec.sidecar.http2.maxConcurrentStreams: expected an integer from 1 to 2147483647, got 0',
    ]);
  });
});
