// Histograms: bucket boundaries (le is inclusive), cumulative snapshots, quantiles, and their Prometheus rendering.
import { expect } from 'chai';
import { prometheusText } from '../admin/prometheus.ts';
import { parsePrometheus, sampleValue } from '../admin/prometheus-check.ts';
import { DEFAULT_BUCKETS_MS, Histogram, quantile } from './histogram.ts';
import { Stats } from './stats.ts';

describe('Histogram', () => {
  it("uses Envoy's default buckets in ms", () => {
    expect(DEFAULT_BUCKETS_MS).to.deep.equal([
      0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
    ]);
  });

  it('counts a value in the first bucket whose bound is >= it; cumulative snapshot, sum and count', () => {
    const h = new Histogram([1, 5, 10]);
    for (const v of [0, 1, 1.01, 5, 7, 10, 11, 1e9]) h.observe(v);
    h.observe(-1);
    h.observe(Number.NaN);
    const s = h.snapshot();
    expect(s.cumulative).to.deep.equal([2, 4, 6]);
    expect(s.count).to.equal(8);
    expect(s.sum).to.be.closeTo(0 + 1 + 1.01 + 5 + 7 + 10 + 11 + 1e9, 1e-6);
    expect(() => new Histogram([1, 1])).to.throw(/ascend/);
  });

  it('estimates quantiles from the buckets', () => {
    const h = new Histogram([10, 20, 30]);
    for (let i = 0; i < 50; i++) h.observe(5);
    for (let i = 0; i < 50; i++) h.observe(15);
    expect(quantile(h.snapshot(), 0.5)).to.equal(10);
    expect(quantile(h.snapshot(), 0.75)).to.equal(15);
    expect(quantile(new Histogram().snapshot(), 0.5)).to.be.NaN;
  });

  it('renders as a Prometheus histogram with Envoy names and labels: _bucket{le}, _sum, _count', () => {
    const stats = new Stats();
    const down = stats.histogram('http.inbound.downstream_rq_time');
    expect(stats.histogram('http.inbound.downstream_rq_time')).to.equal(down);
    for (const v of [0.2, 3, 3, 700, 5_000_000]) down.observe(v);
    stats.histogram('cluster.orders|8080|v1.upstream_rq_time').observe(12);
    const route = stats.histogram('vhost.orders:8080.route.r.1.upstream_rq_time');
    stats.tag('vhost.orders:8080.route.r.1.upstream_rq_time', {
      family: 'envoy_vhost_route_upstream_rq_time',
      labels: [
        ['envoy_virtual_host', 'orders:8080'],
        ['envoy_route', 'r.1'],
      ],
    });
    route.observe(1);
    const text = prometheusText(stats.snapshot(), { clusters: ['orders|8080|v1'], tcp: [], http: ['inbound'] });
    const families = parsePrometheus(text);
    expect(families.get('envoy_http_downstream_rq_time')?.kind).to.equal('histogram');
    const labels = { envoy_http_conn_manager_prefix: 'inbound' };
    expect(text).to.contain(
      'envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix="inbound",le="0.5"} 1\n',
    );
    expect(sampleValue(families, 'envoy_http_downstream_rq_time_bucket', { ...labels, le: '5' })).to.equal(3);
    expect(sampleValue(families, 'envoy_http_downstream_rq_time_bucket', { ...labels, le: '3600000' })).to.equal(4);
    expect(sampleValue(families, 'envoy_http_downstream_rq_time_bucket', { ...labels, le: '+Inf' })).to.equal(5);
    expect(sampleValue(families, 'envoy_http_downstream_rq_time_count', labels)).to.equal(5);
    expect(sampleValue(families, 'envoy_http_downstream_rq_time_sum', labels)).to.be.closeTo(5_000_706.2, 1e-6);
    expect(
      sampleValue(families, 'envoy_cluster_upstream_rq_time_count', { envoy_cluster_name: 'orders|8080|v1' }),
    ).to.equal(1);
    expect(
      sampleValue(families, 'envoy_vhost_route_upstream_rq_time_count', {
        envoy_virtual_host: 'orders:8080',
        envoy_route: 'r.1',
      }),
    ).to.equal(1);
  });

  it('the exposition check refuses broken histograms', () => {
    const head = '# TYPE x histogram\n';
    expect(() => parsePrometheus(`${head}x_bucket{le="1"} 2\nx_bucket{le="+Inf"} 1\nx_sum 1\nx_count 1\n`)).to.throw(
      /cumulative/,
    );
    expect(() => parsePrometheus(`${head}x_bucket{le="1"} 1\nx_sum 1\nx_count 1\n`)).to.throw(/\+Inf/);
    expect(() => parsePrometheus(`${head}x_bucket{le="+Inf"} 2\nx_sum 1\nx_count 1\n`)).to.throw(/_count/);
    expect(() => parsePrometheus(`${head}x_bucket 1\nx_sum 1\nx_count 1\n`)).to.throw(/without le/);
    parsePrometheus(`${head}x_bucket{le="1"} 1\nx_bucket{le="+Inf"} 1\nx_sum 0.5\nx_count 1\n`);
  });
});
