// A sidecar's header and path policy in xDS: safe defaults on the inbound listener (Server overwritten, X-Powered-By
// removed, X-Real-IP set, paths normalized) and the outbound one, the Service's `sidecar` options over them.

import type { SidecarParams } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { SidecarOptions } from '../resources/types.ts';
import { mesh, service } from './fixtures.ts';
import { translateWithWarnings } from './translate.ts';

type Obj = Record<string, unknown>;

const PARAMS: SidecarParams = {
  service: 'orders',
  appPort: 8080,
  inboundAddress: '0.0.0.0',
  inboundPort: 15006,
  outboundPort: 15001,
  tcpUpstreams: [],
};

/** The HCM of each sidecar listener, for a mesh where orders has these options; every listener encodes. */
function hcms(sidecar?: SidecarOptions): { inbound: Obj; outbound: Obj } {
  const orders = service('orders', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] });
  if (sidecar !== undefined) orders.spec.sidecar = sidecar;
  const { resources } = translateWithWarnings(mesh({ services: [orders] }), 'sidecar', PARAMS);
  const hcmOf = (name: string): Obj => {
    const l = resources.listener.find((x) => x['name'] === name) as Obj;
    anyOf(TYPE_URLS.listener, l);
    const chains = l['filter_chains'] as { filters: { typed_config: Obj }[] }[];
    return chains[0]?.filters[0]?.typed_config as Obj;
  };
  return { inbound: hcmOf('inbound'), outbound: hcmOf('outbound') };
}

const HEADER_PATH_FIELDS = [
  'server_name',
  'server_header_transformation',
  'normalize_path',
  'merge_slashes',
  'path_with_escaped_slashes_action',
];

function pick(o: Obj, keys: readonly string[]): Obj {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

describe('sidecar header and path policy', () => {
  it('inbound defaults: Server overwritten, paths normalized, escaped slashes redirected', () => {
    expect(pick(hcms().inbound, HEADER_PATH_FIELDS)).to.deep.equal({
      server_name: 'trellis',
      server_header_transformation: 'OVERWRITE',
      normalize_path: { value: true },
      merge_slashes: true,
      path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT',
    });
  });

  it("inbound routes: X-Real-IP from the connection (client's own overwritten), X-Powered-By removed", () => {
    const rc = hcms().inbound['route_config'] as Obj;
    expect(rc['request_headers_to_add']).to.deep.equal([
      {
        header: { key: 'x-real-ip', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' },
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      },
    ]);
    expect(rc['response_headers_to_remove']).to.deep.equal(['x-powered-by']);
  });

  it("the Service's sidecar options shape its inbound listener", () => {
    const { inbound, outbound } = hcms({
      serverName: 'orders',
      serverHeaderTransformation: 'PASS_THROUGH',
      responseHeadersToRemove: ['X-AspNet-Version', 'x-aspnet-version'],
      normalizePath: false,
      mergeSlashes: false,
      pathWithEscapedSlashesAction: 'REJECT_REQUEST',
    });
    expect(pick(inbound, HEADER_PATH_FIELDS)).to.deep.equal({
      server_name: 'orders',
      server_header_transformation: 'PASS_THROUGH',
      normalize_path: { value: false },
      merge_slashes: false,
      path_with_escaped_slashes_action: 'REJECT_REQUEST',
    });
    expect((inbound['route_config'] as Obj)['response_headers_to_remove']).to.deep.equal(['x-aspnet-version']);
    // The outbound listener takes the path options; the Server header and escaped slashes stay the destination's.
    expect(pick(outbound, HEADER_PATH_FIELDS)).to.deep.equal({
      ...pick(hcms().outbound, HEADER_PATH_FIELDS),
      normalize_path: { value: false },
      merge_slashes: false,
    });
    // An empty list keeps every app header (and X-Real-IP is still set).
    const keep = hcms({ responseHeadersToRemove: [] }).inbound['route_config'] as Obj;
    expect('response_headers_to_remove' in keep).to.equal(false);
    expect(keep['request_headers_to_add']).to.have.length(1);
  });

  it("outbound: paths prepared for Route rules; the destination's Server and escaped-slash decisions pass", () => {
    expect(pick(hcms().outbound, HEADER_PATH_FIELDS)).to.deep.equal({
      server_name: 'trellis',
      server_header_transformation: 'APPEND_IF_ABSENT',
      normalize_path: { value: true },
      merge_slashes: true,
      path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
    });
  });
});
