// Service `sidecar` options: the Server header, concealed response headers and path normalization, checked at apply.
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

describe('validate Service sidecar options', () => {
  it('accepts every documented field', () => {
    expectErrors(sidecarErrors, [
      [{}, []],
      [
        {
          serverName: 'orders api',
          serverHeaderTransformation: 'APPEND_IF_ABSENT',
          responseHeadersToRemove: ['X-Powered-By', 'x-aspnet-version'],
          normalizePath: false,
          mergeSlashes: false,
          pathWithEscapedSlashesAction: 'REJECT_REQUEST',
        },
        [],
      ],
      [{ responseHeadersToRemove: [] }, []],
      [{ serverHeaderTransformation: 'PASS_THROUGH', pathWithEscapedSlashesAction: 'UNESCAPE_AND_FORWARD' }, []],
    ]);
  });

  it('rejects bad values with the field path', () => {
    expectErrors(sidecarErrors, [
      [
        { serverName: 'a\r\nx-injected: 1' },
        [
          'spec.sidecar.serverName: expected a header value (visible ASCII, at most 256 characters), got "a\\r\\nx-injected: 1"',
        ],
      ],
      [
        { serverHeaderTransformation: 'overwrite' },
        [
          'spec.sidecar.serverHeaderTransformation: expected one of OVERWRITE|APPEND_IF_ABSENT|PASS_THROUGH, got "overwrite"',
        ],
      ],
      [
        { responseHeadersToRemove: ['bad header', 'content-length'] },
        [
          'spec.sidecar.responseHeadersToRemove[0]: expected a header name such as x-powered-by, got "bad header"',
          'spec.sidecar.responseHeadersToRemove[1]: content-length cannot be removed (the response needs it)',
        ],
      ],
      [{ normalizePath: 'yes' }, ['spec.sidecar.normalizePath: expected true or false, got "yes"']],
      [
        { pathWithEscapedSlashesAction: 'REDIRECT' },
        [
          'spec.sidecar.pathWithEscapedSlashesAction: expected one of KEEP_UNCHANGED|REJECT_REQUEST|UNESCAPE_AND_REDIRECT|UNESCAPE_AND_FORWARD, got "REDIRECT"',
        ],
      ],
      [
        { maxHeaderCount: 10 },
        [
          'spec.sidecar.maxHeaderCount: unknown field, expected one of serverName|serverHeaderTransformation|responseHeadersToRemove|normalizePath|mergeSlashes|pathWithEscapedSlashesAction|requestHeadersTimeout|requestTimeout|streamIdleTimeout|idleTimeout|maxRequestsPerConnection|maxRequestHeadersKb|maxHeadersCount|maxConnections|maxConnectionsPerSecond|perConnectionBufferLimitBytes|http2',
        ],
      ],
    ]);
  });
});
