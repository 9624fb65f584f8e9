// tracingTarget: the flag and the OTel spec's environment variables, protocols, and errors naming the setting.
import { expect } from 'chai';
import { tracingTarget } from './tracing.ts';

describe('tracingTarget', () => {
  it('is off without an endpoint, or when the SDK or the exporter is disabled', () => {
    expect(tracingTarget(undefined, {})).to.equal(undefined);
    expect(tracingTarget('http://c:4318', { OTEL_SDK_DISABLED: 'true' })).to.equal(undefined);
    expect(tracingTarget('http://c:4318', { OTEL_TRACES_EXPORTER: 'none' })).to.equal(undefined);
  });

  it('prefers the flag, then the traces endpoint as is, then the base endpoint + /v1/traces', () => {
    const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:2' };
    expect(tracingTarget('http://f:3/', env)).to.deep.equal({ url: 'http://f:3/v1/traces', protocol: 'http/protobuf' });
    expect(tracingTarget('http://f:3/v1/traces', env)?.url).to.equal('http://f:3/v1/traces');
    expect(tracingTarget(undefined, env)?.url).to.equal('http://t:1/custom');
    expect(tracingTarget(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:2' })?.url).to.equal(
      'http://b:2/v1/traces',
    );
  });

  it('uses gRPC endpoints as given and refuses unknown protocols and non-URLs', () => {
    expect(
      tracingTarget(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).to.deep.equal({ url: 'http://b:4317', protocol: 'grpc' });
    expect(() => tracingTarget('http://x', { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })).to.throw(
      'OTEL_EXPORTER_OTLP_PROTOCOL: expected one of http/protobuf|grpc, got "http/json"',
    );
    expect(() => tracingTarget('collector', {})).to.throw('--tracing-endpoint: expected a URL');
  });
});
