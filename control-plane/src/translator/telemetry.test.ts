// Telemetry translation: mesh-wide vs service override, stdout/stderr/file loggers, sampling, TCP listeners, encoding.

import type { SidecarParams } from '@trellis/node-contract';
import { anyOf, decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { API_VERSION, type TelemetryResource, type TelemetrySpec } from '../resources/types.ts';
import { service, shopMesh } from './fixtures.ts';
import type { MeshState } from './mesh-state.ts';
import { effectiveTelemetry, fractionalPercent } from './telemetry.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const tel = (name: string, spec: TelemetrySpec): TelemetryResource => ({
  apiVersion: API_VERSION,
  kind: 'Telemetry',
  metadata: { name },
  spec,
});

const MESH_WIDE = tel('mesh-default', {
  tracing: { samplingPercent: 1 },
  accessLog: { path: '/dev/stdout', format: { start: '%START_TIME%', status: '%RESPONSE_CODE%' } },
});

function params(service: string): SidecarParams {
  return {
    service,
    appPort: service === 'payments' ? 50051 : 8080,
    inboundAddress: '127.0.0.1',
    inboundPort: 15006,
    outboundPort: 15001,
    tcpUpstreams: [{ service: 'payments', port: 50051, localPort: 16379 }],
  };
}

/** Socket listeners of a sidecar for `service`, after an encode → decode round trip (what goes on the wire). */
function listenersOf(state: MeshState, service: string): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const l of translate(state, 'sidecar', params(service)).listener) {
    if ('api_listener' in l) continue;
    out.set(String(l['name']), decodeAny(anyOf(TYPE_URLS.listener, l)));
  }
  return out;
}

function filterOf(listener: Obj | undefined): Obj {
  const chains = listener?.['filter_chains'] as { filters: { typed_config: Obj }[] }[];
  return chains[0]!.filters[0]!.typed_config;
}

function withTelemetry(...telemetry: TelemetryResource[]): MeshState {
  return { ...shopMesh(), telemetry };
}

describe('translate Telemetry', () => {
  it('puts mesh-wide tracing and a stdout JSON access log on both HCMs of every sidecar', () => {
    const listeners = listenersOf(withTelemetry(MESH_WIDE), 'orders');
    for (const name of ['inbound', 'outbound']) {
      const hcm = filterOf(listeners.get(name));
      expect(hcm['tracing'], name).to.deep.equal({
        random_sampling: { value: 1 },
        provider: {
          name: 'envoy.tracers.opentelemetry',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
            service_name: 'orders',
          },
        },
      });
      expect(hcm['access_log'], name).to.deep.equal([
        {
          name: 'envoy.access_loggers.stdout',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
            log_format: {
              json_format: {
                fields: { start: { stringValue: '%START_TIME%' }, status: { stringValue: '%RESPONSE_CODE%' } },
              },
            },
          },
        },
      ]);
    }
  });

  it('a service-scoped Telemetry overrides the parts it sets, for that service only', () => {
    const ordersOnly = tel('orders', {
      selector: { service: 'orders' },
      accessLog: { path: '/var/log/orders.log', samplingPercent: 12.5 },
    });
    const state = withTelemetry(MESH_WIDE, ordersOnly);
    const orders = filterOf(listenersOf(state, 'orders').get('outbound'));
    expect((orders['tracing'] as Obj)['random_sampling']).to.deep.equal({ value: 1 });
    expect(orders['access_log']).to.deep.equal([
      {
        name: 'envoy.access_loggers.file',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
          path: '/var/log/orders.log',
        },
        filter: {
          runtime_filter: {
            runtime_key: 'access_log.sampling',
            percent_sampled: { numerator: 1250, denominator: 'TEN_THOUSAND' },
          },
        },
      },
    ]);
    const payments = filterOf(listenersOf(state, 'payments').get('inbound'));
    expect(((payments['access_log'] as Obj[])[0]!['typed_config'] as Obj)['@type']).to.match(/StdoutAccessLog$/);
    expect(((payments['tracing'] as Obj)['provider'] as { typed_config: Obj }).typed_config['service_name']).to.equal(
      'payments',
    );
  });

  it('gives TCP proxies (per-upstream and a TCP inbound) the access log and no tracing', () => {
    const state = withTelemetry(MESH_WIDE);
    const tcpService = service('cache', { ports: [{ name: 'tcp', port: 8080, protocol: 'TCP' }] });
    const withTcp: MeshState = { ...state, services: [...state.services, tcpService] };
    const listeners = listenersOf(withTcp, 'cache');
    for (const name of ['inbound', 'outbound-tcp|payments|50051']) {
      const proxy = filterOf(listeners.get(name));
      expect(proxy['@type'], name).to.match(/TcpProxy$/);
      expect(proxy['access_log'], name).to.have.length(1);
      expect(proxy, name).to.not.have.property('tracing');
    }
  });

  it('changes nothing without Telemetry, and nothing for proxyless or Envoy clients', () => {
    const plain = translate(shopMesh(), 'sidecar', params('orders'));
    expect(translate({ ...shopMesh(), telemetry: [] }, 'sidecar', params('orders'))).to.deep.equal(plain);
    const hcm = filterOf(plain.listener.find((l) => l['name'] === 'outbound'));
    expect(hcm).to.not.have.property('tracing');
    expect(hcm).to.not.have.property('access_log');
    for (const client of ['proxyless', 'envoy'] as const) {
      expect(translate(withTelemetry(MESH_WIDE), client)).to.deep.equal(translate(shopMesh(), client));
    }
  });

  it('merges per part and picks stderr; percents become exact fractions', () => {
    const mesh = tel('mesh', { accessLog: { path: '/dev/stderr' } });
    const own = tel('own', { selector: { service: 'orders' }, tracing: { samplingPercent: 100 } });
    expect(effectiveTelemetry([own, mesh], 'orders')).to.deep.equal({
      tracing: { samplingPercent: 100 },
      accessLog: { path: '/dev/stderr' },
    });
    expect(effectiveTelemetry([own], 'payments')).to.equal(undefined);
    expect(effectiveTelemetry([own, mesh], undefined)).to.deep.equal({ accessLog: { path: '/dev/stderr' } });
    const hcm = filterOf(listenersOf(withTelemetry(mesh), 'orders').get('outbound'));
    expect((hcm['access_log'] as Obj[])[0]).to.deep.include({ name: 'envoy.access_loggers.stderr' });
    expect(fractionalPercent(5)).to.deep.equal({ numerator: 5, denominator: 'HUNDRED' });
    expect(fractionalPercent(0.25)).to.deep.equal({ numerator: 25, denominator: 'TEN_THOUSAND' });
    expect(fractionalPercent(0.01)).to.deep.equal({ numerator: 1, denominator: 'TEN_THOUSAND' });
    expect(fractionalPercent(0.0001)).to.deep.equal({ numerator: 1, denominator: 'MILLION' });
    expect(fractionalPercent(0.1234)).to.deep.equal({ numerator: 1234, denominator: 'MILLION' });
  });
});
