// Telemetry validation: selector, sampling percents, access log path and command operators, each with its field path.
import { expect } from 'chai';
import { ACCESS_LOG_OPERATORS, accessLogFormatErrors } from './access-log-format.ts';
import { expectErrors } from './testing.ts';
import { validateResource } from './validate.ts';

function telemetryErrors(spec: Record<string, unknown>): string[] {
  const doc = { apiVersion: 'trellis.dev/v1', kind: 'Telemetry', metadata: { name: 'mesh-default' }, spec };
  const prefix = 'document 1 (Telemetry mesh-default): ';
  const { errors } = validateResource(doc, 'document 1');
  for (const e of errors) expect(e.startsWith(prefix), e).to.equal(true);
  return errors.map((e) => e.slice(prefix.length));
}

describe('validate Telemetry', () => {
  it('accepts the documented example, mesh-wide and service-scoped', () => {
    const spec = {
      selector: { service: 'orders' },
      tracing: { samplingPercent: 1 },
      accessLog: {
        path: '/dev/stdout',
        format: { start: '%START_TIME%', status: '%RESPONSE_CODE%', id: '%REQ(X-REQUEST-ID):16% on %ROUTE_NAME%' },
        samplingPercent: 100,
      },
    };
    const result = validateResource(
      { apiVersion: 'trellis.dev/v1', kind: 'Telemetry', metadata: { name: 'orders' }, spec },
      'document 1',
    );
    expect(result.errors).to.deep.equal([]);
    expect(result.resource?.spec).to.deep.equal(spec);
    expectErrors(telemetryErrors, [
      [{ tracing: { samplingPercent: 0.5 } }, []],
      [{ accessLog: { path: '/var/log/trellis/access.log' } }, []],
      [{ accessLog: { path: '/dev/stderr', format: { t: '%START_TIME(%s)% %GRPC_STATUS%' } } }, []],
    ]);
  });

  it('rejects bad percents, paths and selectors with the field path', () => {
    expectErrors(telemetryErrors, [
      [
        { tracing: { samplingPercent: 101 } },
        ['spec.tracing.samplingPercent: expected a number from 0 to 100, got 101'],
      ],
      [
        { tracing: { samplingPercent: '5' } },
        ['spec.tracing.samplingPercent: expected a number from 0 to 100, got "5"'],
      ],
      [{ tracing: {} }, ['spec.tracing.samplingPercent: required, expected a number from 0 to 100']],
      [
        { accessLog: { path: '/dev/stdout', samplingPercent: -1 } },
        ['spec.accessLog.samplingPercent: expected a number from 0 to 100, got -1'],
      ],
      [
        { accessLog: { path: 'access.log' } },
        ['spec.accessLog.path: expected /dev/stdout, /dev/stderr or an absolute file path, got "access.log"'],
      ],
      [
        { selector: { service: 'Orders' }, tracing: { samplingPercent: 1 } },
        [
          'spec.selector.service: expected a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters), got "Orders"',
        ],
      ],
      [
        { selector: { labels: {} }, tracing: { samplingPercent: 1 } },
        [
          'spec.selector.labels: unknown field, expected one of service',
          'spec.selector.service: required, expected the name of a Service',
        ],
      ],
      [{}, ['spec: expected at least one of tracing|accessLog']],
      [
        { metrics: {}, tracing: { samplingPercent: 1 } },
        ['spec.metrics: unknown field, expected one of selector|tracing|accessLog'],
      ],
    ]);
  });

  it('rejects unknown command operators at apply time, naming the format field', () => {
    const errors = telemetryErrors({
      accessLog: { path: '/dev/stdout', format: { ok: '%PROTOCOL%', bad: 'x %UPSTREAM_LOCAL_ADDRESS% y' } },
    });
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(
      /^spec\.accessLog\.format\.bad: unknown command operator %UPSTREAM_LOCAL_ADDRESS%, expected one of START_TIME, REQ\(header\), RESP\(header\), PROTOCOL,/,
    );
    expect(telemetryErrors({ accessLog: { path: '/dev/stdout', format: { n: 42 } } })).to.deep.equal([
      'spec.accessLog.format.n: expected a string, got 42',
    ]);
  });

  it('checks operator syntax: arguments, lengths, termination', () => {
    expect(accessLogFormatErrors('plain text')).to.deep.equal([]);
    expect(accessLogFormatErrors('%REQ(:authority)% %RESP(content-type):10% %DURATION%ms')).to.deep.equal([]);
    expect(accessLogFormatErrors('%REQ%')).to.deep.equal(['%REQ% needs a header name, e.g. %REQ(x-request-id)%']);
    expect(accessLogFormatErrors('%DURATION(x)%')).to.deep.equal(['%DURATION% takes no argument, got %DURATION(x)%']);
    expect(accessLogFormatErrors('%REQ(x):%')).to.deep.equal(['expected a maximum length after ":" in %REQ%']);
    expect(accessLogFormatErrors('100% done')).to.deep.equal(['unterminated command operator "% " (expected %NAME%)']);
    expect(accessLogFormatErrors('%REQ(x')).to.deep.equal(['unterminated "(" in "%REQ(x"']);
    expect(accessLogFormatErrors('%start_time%')).to.deep.equal([
      'unterminated command operator "%s" (expected %NAME%)',
    ]);
    for (const op of ACCESS_LOG_OPERATORS) {
      const text = `%${op.replace('(header)', '(x-id)')}%`;
      expect(accessLogFormatErrors(text), text).to.deep.equal([]);
    }
  });
});
