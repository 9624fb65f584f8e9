// Header mutation values as Envoy substitution formats: `%%`, the operators the sidecar renders, and what it refuses.
import { hostname } from 'node:os';
import { expect } from 'chai';
import { renderHeaderValue } from '../http/message/header-value-format.ts';
import { headerValue } from './decode-header-value.ts';
import { decodeRouteConfiguration } from './decode-route.ts';
import { routeConfiguration, wire } from './envoy-fixtures.ts';

const source = { clientAddress: '203.0.113.9', peerAddress: '10.0.0.2' };

function render(raw: string): string {
  const v = headerValue(raw, 'value', true);
  return v.format === undefined ? v.value : renderHeaderValue(v.format, source);
}

describe('header values (substitution formats)', () => {
  it('literal values stay literal; %% is a percent sign', () => {
    expect(headerValue('plain', 'v', true)).to.deep.equal({ value: 'plain' });
    expect(headerValue('100%% sure', 'v', false)).to.deep.equal({ value: '100% sure' });
  });

  it('renders the client and peer addresses and the host name per request', () => {
    expect(render('%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%')).to.equal('203.0.113.9');
    expect(render('for=%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%;by=%HOSTNAME%')).to.equal(
      `for=10.0.0.2;by=${hostname()}`,
    );
    expect(render('%%%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%%%')).to.equal('%203.0.113.9%');
  });

  it('an operator without a value renders empty (the header is then not added)', () => {
    const v = headerValue('ip=%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', 'v', true);
    expect(renderHeaderValue(v.format ?? [], { clientAddress: '', peerAddress: '' })).to.equal('');
  });

  it('refuses unknown operators, operators in response headers and a lone %, naming the field', () => {
    expect(() => headerValue('%UPSTREAM_HOST%', 'v', true)).to.throw('v: unsupported command operator %UPSTREAM_HOST%');
    expect(() => headerValue('%HOSTNAME%', 'v', false)).to.throw('only supported in request headers');
    expect(() => headerValue('50%', 'v', true)).to.throw('v: a lone % at position 2');
  });

  it('through a RouteConfiguration: request_headers_to_add gets a format, errors name the field path', () => {
    const rc = (extra: Record<string, unknown>) => ({ ...routeConfiguration('rc', []), ...extra });
    const add = (value: string) => [
      { header: { key: 'X-Real-IP', value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ];
    const decoded = decodeRouteConfiguration(
      wire('route', rc({ request_headers_to_add: add('%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%') })),
      'v1',
    );
    if ('error' in decoded) throw new Error(decoded.error);
    expect(decoded.value.requestHeaders.add).to.deep.equal([
      {
        name: 'x-real-ip',
        action: 'overwrite',
        value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%',
        format: [{ operator: 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT' }],
      },
    ]);
    const refused = decodeRouteConfiguration(wire('route', rc({ response_headers_to_add: add('%HOSTNAME%') })), 'v1');
    expect(refused).to.have.property('error').that.includes('response_headers_to_add[0].header.value');
  });
});
