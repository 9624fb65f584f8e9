// Parsing the sidecar admin pages the live view reads: Prometheus series sums and ejected hosts from /clusters.
import { expect } from 'chai';
import { ejectedHosts, promSamples, sum } from './scrape.ts';

const PROMETHEUS = `# TYPE envoy_http_downstream_rq_xx counter
envoy_http_downstream_rq_xx{envoy_http_conn_manager_prefix="inbound",envoy_response_code_class="2"} 120
envoy_http_downstream_rq_xx{envoy_http_conn_manager_prefix="inbound",envoy_response_code_class="5"} 3
envoy_http_downstream_rq_xx{envoy_http_conn_manager_prefix="outbound",envoy_response_code_class="2"} 999
envoy_cluster_outlier_detection_ejections_enforced_total{envoy_cluster_name="orders|8080|v1"} 2
envoy_cluster_outlier_detection_ejections_enforced_total{envoy_cluster_name="payments|50051"} 1
`;

describe('scrape', () => {
  it('sums the series of a family that carry the given labels', () => {
    const series = promSamples(PROMETHEUS) ?? [];
    const inbound = { envoy_http_conn_manager_prefix: 'inbound' };
    expect(sum(series, 'envoy_http_downstream_rq_xx', inbound)).to.equal(123);
    expect(sum(series, 'envoy_http_downstream_rq_xx', { ...inbound, envoy_response_code_class: '5' })).to.equal(3);
    expect(sum(series, 'envoy_cluster_outlier_detection_ejections_enforced_total')).to.equal(3);
    expect(sum(series, 'envoy_http_downstream_rq')).to.equal(0);
    expect(promSamples('envoy_x{broken 1\n')).to.equal(undefined);
  });

  it('lists the hosts whose health flags say failed_outlier_check', () => {
    const text = [
      'orders|8080|v1::default_priority::max_connections::1024',
      'orders|8080|v1::127.0.0.1:20009::rq_total::41',
      'orders|8080|v1::127.0.0.1:20009::health_flags::/failed_outlier_check',
      'orders|8080|v1::127.0.0.1:20013::health_flags::healthy',
      'orders|8080|v2::127.0.0.1:20017::health_flags::/failed_active_hc/failed_outlier_check',
    ].join('\n');
    expect(ejectedHosts(text)).to.deep.equal([
      { cluster: 'orders|8080|v1', host: '127.0.0.1:20009' },
      { cluster: 'orders|8080|v2', host: '127.0.0.1:20017' },
    ]);
  });
});
