// HCM header and path options through the protos: max_headers_count, Server header, path normalization.
import { expect } from 'chai';
import { decodeListener } from './decode-listener.ts';
import { hcm, socketListener, wire } from './envoy-fixtures.ts';
import type { HttpConnectionManagerConfig } from './model.ts';

type Obj = Record<string, unknown>;

function decode(extra: Obj): HttpConnectionManagerConfig | string {
  const r = decodeListener(wire('listener', socketListener('outbound', hcm('outbound', extra))), 'v1');
  if ('error' in r) return r.error;
  if (r.value === null || r.value.filter.type !== 'http') throw new Error('not an HTTP listener');
  return r.value.filter.http;
}

function ok(extra: Obj): HttpConnectionManagerConfig {
  const config = decode(extra);
  if (typeof config === 'string') throw new Error(config);
  return config;
}

describe('HCM header and path options', () => {
  it('max_headers_count: Envoy default 100, or common_http_protocol_options', () => {
    expect(ok({}).maxHeadersCount).to.equal(100);
    expect(ok({ common_http_protocol_options: {} }).maxHeadersCount).to.equal(100);
    expect(ok({ common_http_protocol_options: { max_headers_count: { value: 20 } } }).maxHeadersCount).to.equal(20);
    expect(decode({ common_http_protocol_options: { max_headers_count: { value: 0 } } })).to.include(
      'common_http_protocol_options.max_headers_count: must be at least 1',
    );
  });

  it('Server header: OVERWRITE by default, with our name unless server_name says otherwise', () => {
    expect(ok({})).to.include({ serverName: 'trellis', serverHeaderTransformation: 'overwrite' });
    expect(ok({ server_name: 'orders', server_header_transformation: 'APPEND_IF_ABSENT' })).to.include({
      serverName: 'orders',
      serverHeaderTransformation: 'append-if-absent',
    });
    expect(ok({ server_header_transformation: 'PASS_THROUGH' }).serverHeaderTransformation).to.equal('pass-through');
    expect(decode({ server_name: 'a\r\nx-injected: 1' })).to.include('server_name: must be visible ASCII');
  });

  it('path normalization: all off by default (as in Envoy); normalize_path, merge_slashes, escaped-slash actions', () => {
    expect(ok({}).pathNormalization).to.deep.equal({
      normalizePath: false,
      mergeSlashes: false,
      escapedSlashes: 'keep-unchanged',
    });
    expect(
      ok({ normalize_path: { value: true }, merge_slashes: true, path_with_escaped_slashes_action: 'REJECT_REQUEST' })
        .pathNormalization,
    ).to.deep.equal({ normalizePath: true, mergeSlashes: true, escapedSlashes: 'reject-request' });
    for (const [name, action] of [
      ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'keep-unchanged'],
      ['KEEP_UNCHANGED', 'keep-unchanged'],
      ['UNESCAPE_AND_REDIRECT', 'unescape-and-redirect'],
      ['UNESCAPE_AND_FORWARD', 'unescape-and-forward'],
    ]) {
      expect(ok({ path_with_escaped_slashes_action: name }).pathNormalization.escapedSlashes).to.equal(action);
    }
    expect(decode({ path_normalization_options: { forwarding_transformation: {} } })).to.include(
      'path_normalization_options: not supported',
    );
  });
});
