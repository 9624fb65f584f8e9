// Prometheus rendering: Envoy-style names and labels, one TYPE per family, escaping, and a line-by-line validity check.
import { expect } from 'chai';
import fc from 'fast-check';
import { prometheusText, toSample } from './prometheus.ts';
import { parsePrometheus } from './prometheus-check.ts';

const SCOPES = { clusters: ['orders.shop|8080', 'orders|8080'], tcp: ['db'], http: ['outbound_0.0.0.0_15001'] };

describe('Prometheus exposition', () => {
  it('turns scope names into Envoy labels, using known names that contain dots', () => {
    expect(toSample('cluster.orders|8080.upstream_rq_total', SCOPES)).to.deep.equal({
      family: 'envoy_cluster_upstream_rq_total',
      labels: [['envoy_cluster_name', 'orders|8080']],
    });
    expect(toSample('cluster.orders.shop|8080.circuit_breakers.default.rq_open', SCOPES)).to.deep.equal({
      family: 'envoy_cluster_circuit_breakers_default_rq_open',
      labels: [['envoy_cluster_name', 'orders.shop|8080']],
    });
    expect(toSample('http.outbound_0.0.0.0_15001.downstream_rq_5xx', SCOPES)).to.deep.equal({
      family: 'envoy_http_downstream_rq_xx',
      labels: [
        ['envoy_http_conn_manager_prefix', 'outbound_0.0.0.0_15001'],
        ['envoy_response_code_class', '5'],
      ],
    });
    expect(toSample('cluster.unknown.upstream_rq_503', SCOPES)).to.deep.equal({
      family: 'envoy_cluster_upstream_rq',
      labels: [
        ['envoy_cluster_name', 'unknown'],
        ['envoy_response_code', '503'],
      ],
    });
    expect(toSample('listener.0.0.0.0_15006.downstream_cx_active', SCOPES)).to.deep.equal({
      family: 'envoy_listener_downstream_cx_active',
      labels: [['envoy_listener_address', '0.0.0.0_15006']],
    });
    expect(toSample('server.live', SCOPES)).to.deep.equal({ family: 'envoy_server_live', labels: [] });
  });

  it('groups every family under one TYPE line and escapes label values', () => {
    const text = prometheusText(
      {
        counters: [
          ['cluster.orders|8080.upstream_rq_total', 5],
          ['cluster.we"ird\\name.upstream_rq_total', 1],
          ['tcp.db.downstream_cx_total', 2],
        ],
        gauges: [
          ['cluster.orders|8080.membership_total', 3],
          ['server.live', 1],
        ],
      },
      SCOPES,
    );
    const families = parsePrometheus(text);
    expect(families.get('envoy_cluster_upstream_rq_total')?.kind).to.equal('counter');
    expect(families.get('envoy_cluster_upstream_rq_total')?.samples).to.deep.equal([
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="orders|8080"} 5',
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="we\\"ird\\\\name"} 1',
    ]);
    expect(families.get('envoy_cluster_upstream_rq_total')?.parsed[1]?.labels).to.deep.equal({
      envoy_cluster_name: 'we"ird\\name',
    });
    expect(families.get('envoy_cluster_membership_total')?.kind).to.equal('gauge');
    expect(families.get('envoy_tcp_downstream_cx_total')?.samples).to.deep.equal([
      'envoy_tcp_downstream_cx_total{envoy_tcp_prefix="db"} 2',
    ]);
  });

  it('property: any stat names render to valid exposition text', () => {
    const segment = fc.string({ minLength: 1, maxLength: 12 });
    const name = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.'));
    const entry = fc.tuple(name, fc.integer({ min: 0, max: 1e9 }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 30 }), fc.array(entry, { maxLength: 30 }), (counters, gauges) => {
        const text = prometheusText({ counters, gauges }, SCOPES);
        if (text !== '') parsePrometheus(text);
      }),
    );
  });
});
