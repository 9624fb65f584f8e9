// Access log formats: every command operator, text and typed JSON output, truncation, alternatives, malformed
// format strings, and decoding of Envoy access_log configs (an unknown operator is a NACK naming the field).
import { expect } from 'chai';
import {
  compileFormat,
  compileJsonFormat,
  compileTextFormat,
  DEFAULT_HTTP_JSON_FORMAT,
  FormatError,
} from './access-log-format.ts';
import type { LogSource } from './access-log-source.ts';
import { traceIdOf } from './access-log-source.ts';
import { decodeListener } from './decode-listener.ts';
import { hcm, socketListener, TCP_PROXY, wire } from './envoy-fixtures.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function source(overrides: Partial<LogSource> = {}): LogSource {
  const request: Record<string, string> = {
    ':method': 'POST',
    ':path': '/orders?id=1',
    ':authority': 'orders:8080',
    'user-agent': 'curl/8',
    'x-request-id': 'rid-1',
    traceparent: `00-${TRACE}-00f067aa0ba902b7-01`,
  };
  const response: Record<string, string> = { 'content-type': 'text/plain', server: 'app' };
  return {
    startTime: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    durationMs: 12.4,
    protocol: 'HTTP/1.1',
    responseCode: 503,
    flags: 'UF',
    bytesReceived: 11,
    bytesSent: 22,
    upstreamHost: '10.0.0.1:8080',
    upstreamCluster: 'orders|8080',
    downstreamRemoteAddress: '127.0.0.1:5555',
    downstreamLocalAddress: '127.0.0.1:15001',
    downstreamPeerUriSan: 'spiffe://cluster.local/ns/default/sa/web',
    downstreamLocalUriSan: 'spiffe://cluster.local/ns/default/sa/orders',
    routeName: 'default',
    grpcStatus: 14,
    attempts: 2,
    connectionId: 7,
    requestHeader: (name) => request[name],
    responseHeader: (name) => response[name],
    traceId: () => traceIdOf(request['traceparent']),
    ...overrides,
  };
}

describe('access log format', () => {
  it('renders every command operator in text', () => {
    const cases: [string, string][] = [
      ['%START_TIME%', '2024-01-02T03:04:05.678Z'],
      ['%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%', '2024-01-02T03:04:05.678Z'],
      ['%START_TIME(%s)%', String(Math.floor(Date.UTC(2024, 0, 2, 3, 4, 5) / 1000))],
      ['%START_TIME(%d/%m %z %%)%', '02/01 +0000 %'],
      ['%REQ(:METHOD)%', 'POST'],
      ['%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', '/orders?id=1'],
      ['%REQ(:PATH):7%', '/orders'],
      ['%REQ(USER-AGENT)%', 'curl/8'],
      ['%REQ(X-REQUEST-ID)%', 'rid-1'],
      ['%REQ(:AUTHORITY)%', 'orders:8080'],
      ['%REQ(X-MISSING)%', '-'],
      ['%RESP(CONTENT-TYPE)%', 'text/plain'],
      ['%RESP(X-NONE?SERVER)%', 'app'],
      ['%PROTOCOL%', 'HTTP/1.1'],
      ['%RESPONSE_CODE%', '503'],
      ['%RESPONSE_FLAGS%', 'UF'],
      ['%BYTES_RECEIVED%', '11'],
      ['%BYTES_SENT%', '22'],
      ['%DURATION%', '12'],
      ['%UPSTREAM_HOST%', '10.0.0.1:8080'],
      ['%UPSTREAM_CLUSTER%', 'orders|8080'],
      ['%DOWNSTREAM_REMOTE_ADDRESS%', '127.0.0.1:5555'],
      ['%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '127.0.0.1'],
      ['%DOWNSTREAM_LOCAL_ADDRESS%', '127.0.0.1:15001'],
      ['%DOWNSTREAM_PEER_URI_SAN%', 'spiffe://cluster.local/ns/default/sa/web'],
      ['%DOWNSTREAM_LOCAL_URI_SAN%', 'spiffe://cluster.local/ns/default/sa/orders'],
      ['%ROUTE_NAME%', 'default'],
      ['%GRPC_STATUS%', 'Unavailable'],
      ['%GRPC_STATUS_NUMBER%', '14'],
      ['%UPSTREAM_REQUEST_ATTEMPT_COUNT%', '2'],
      ['%TRACE_ID%', TRACE],
      ['%CONNECTION_ID%', '7'],
    ];
    for (const [format, expected] of cases) {
      expect(compileTextFormat(format, 'f')(source()), format).to.equal(`${expected}\n`);
    }
    expect(compileTextFormat('%HOSTNAME%', 'f')(source())).to.match(/^\S+\n$/);
  });

  it('mixes literals and operators; missing values are "-"; an existing newline is kept', () => {
    const f = compileTextFormat('[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE% %RESPONSE_FLAGS%\n', 'f');
    expect(f(source())).to.equal('[2024-01-02T03:04:05.678Z] "POST /orders?id=1" 503 UF\n');
    const none = source({ flags: '', upstreamHost: undefined, grpcStatus: undefined, traceId: () => undefined });
    expect(compileTextFormat('%RESPONSE_FLAGS% %UPSTREAM_HOST% %GRPC_STATUS% %TRACE_ID%', 'f')(none)).to.equal(
      '- - - -\n',
    );
  });

  it('JSON keeps the types of single operators (numbers, null when missing) and strings otherwise', () => {
    const f = compileJsonFormat(
      {
        code: '%RESPONSE_CODE%',
        bytes: '%BYTES_SENT%',
        flags: '%RESPONSE_FLAGS%',
        line: '%REQ(:METHOD)% %RESPONSE_CODE%',
      },
      'json_format',
    );
    const line = f(source({ flags: '' }));
    expect(line.endsWith('\n')).to.equal(true);
    expect(JSON.parse(line)).to.deep.equal({ code: 503, bytes: 22, flags: null, line: 'POST 503' });
  });

  it('without a format writes the default JSON fields', () => {
    const row = JSON.parse(compileFormat({}, 'http', 'f')(source())) as Record<string, unknown>;
    expect(Object.keys(row)).to.deep.equal(Object.keys(DEFAULT_HTTP_JSON_FORMAT));
    expect(row).to.include({
      method: 'POST',
      path: '/orders?id=1',
      response_code: 503,
      response_flags: 'UF',
      upstream_host: '10.0.0.1:8080',
      x_request_id: 'rid-1',
      trace_id: TRACE,
      route_name: 'default',
    });
    const tcp = JSON.parse(compileFormat({}, 'tcp', 'f')(source())) as Record<string, unknown>;
    expect(tcp).to.include({ connection_id: 7, bytes_received: 11, upstream_cluster: 'orders|8080' });
  });

  it('rejects malformed format strings at compile time, naming the field and position', () => {
    const bad: [string, RegExp][] = [
      ['%NOT_AN_OPERATOR%', /^f: position 0: unknown command operator %NOT_AN_OPERATOR%/],
      ['100%', /^f: position 3: malformed command operator/],
      ['%REQ%', /needs a header name/],
      ['%REQ()%', /needs a header name/],
      ['%REQ(A?B?C)%', /HEADER\?ALTERNATIVE/],
      ['%RESP(bad header)%', /HEADER\?ALTERNATIVE/],
      ['%RESPONSE_CODE(x)%', /%RESPONSE_CODE% takes no arguments/],
      ['%START_TIME(%Q)%', /START_TIME.*supports/],
      ['ok %DURATION', /position 3: malformed/],
      ['%duration%', /malformed/],
    ];
    for (const [format, message] of bad) {
      expect(() => compileTextFormat(format, 'f'), format).to.throw(FormatError, message);
    }
    expect(() => compileJsonFormat({ a: '%DURATION%', b: '%NOPE%' }, 'json_format')).to.throw(
      FormatError,
      /^json_format\.b: position 0: unknown command operator %NOPE%/,
    );
  });

  it('decodes Envoy access_log configs; an unknown operator is a decode error naming the field', () => {
    const fileLog = (logFormat: Record<string, unknown>) => ({
      name: 'envoy.access_loggers.file',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
        path: '/tmp/access.log',
        log_format: logFormat,
      },
    });
    /** json_format is a google.protobuf.Struct on the wire. */
    const struct = (fields: Record<string, string>) => ({
      fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }])),
    });
    const decode = (accessLog: unknown[]) =>
      decodeListener(wire('listener', socketListener('outbound', hcm('outbound', { access_log: accessLog }))), 'v1');
    const good = decode([fileLog({ json_format: struct({ code: '%RESPONSE_CODE%' }) })]);
    if ('error' in good) throw new Error(good.error);
    const http = good.value?.filter.type === 'http' ? good.value.filter.http : undefined;
    expect(http?.accessLogs).to.deep.equal([
      { path: '/tmp/access.log', jsonFormat: { code: '%RESPONSE_CODE%' }, sampledPercent: 100 },
    ]);
    const bad = decode([fileLog({ json_format: struct({ code: '%RESPONSE_CODE%', who: '%WHO_KNOWS%' }) })]);
    expect(bad)
      .to.have.property('error')
      .that.matches(/access_log\[0\]\.typed_config\.log_format\.json_format\.who/);
    expect((bad as { error: string }).error).to.match(/unknown command operator %WHO_KNOWS%/);
    const text = decode([fileLog({ text_format_source: { inline_string: '%REQ(:PATH) oops' } })]);
    expect(text)
      .to.have.property('error')
      .that.matches(/log_format\.text_format: position 0: malformed/);
    const tcp = decodeListener(
      wire(
        'listener',
        socketListener('db', {
          '@type': TCP_PROXY,
          stat_prefix: 'db',
          cluster: 'db',
          access_log: [fileLog({ text_format_source: { inline_string: '%BOGUS%' } })],
        }),
      ),
      'v1',
    );
    expect(tcp)
      .to.have.property('error')
      .that.matches(/access_log\[0\].*unknown command operator %BOGUS%/);
  });
});
