// top's math from two snapshots: rates, success, percentiles from bucket deltas, upstream split, resets, gaps.
import { expect } from 'chai';
import { histogramQuantile, serviceOfCluster, serviceStats } from './mesh-rates.ts';
import type { MeshSnapshot, ProxySnapshot, SnapshotSample } from './mesh-snapshot.ts';
import { formatSplit, renderTop } from './top-render.ts';

const rqXx = (cls: string, value: number): SnapshotSample => ({
  name: 'envoy_http_downstream_rq_xx',
  labels: { envoy_http_conn_manager_prefix: 'inbound', envoy_response_code_class: cls },
  value,
});
const outboundXx = (value: number): SnapshotSample => ({
  name: 'envoy_http_downstream_rq_xx',
  labels: { envoy_http_conn_manager_prefix: 'outbound', envoy_response_code_class: '2' },
  value,
});
const upstream = (cluster: string, value: number, cls = '2'): SnapshotSample => ({
  name: 'envoy_cluster_upstream_rq_xx',
  labels: { envoy_cluster_name: cluster, envoy_response_code_class: cls },
  value,
});
const bucket = (le: string, value: number): SnapshotSample => ({
  name: 'envoy_http_downstream_rq_time_bucket',
  labels: { envoy_http_conn_manager_prefix: 'inbound', le },
  value,
});
const ejected = (cluster: string, value: number): SnapshotSample => ({
  name: 'envoy_cluster_outlier_detection_ejections_active',
  labels: { envoy_cluster_name: cluster },
  value,
});

function proxy(nodeId: string, service: string, samples: SnapshotSample[], error = ''): ProxySnapshot {
  return { nodeId, service, error, samples };
}

function snap(atMs: number, ...proxies: ProxySnapshot[]): MeshSnapshot {
  return { atMs, proxies };
}

describe('top: service stats from two snapshots', () => {
  it('computes rps, success rate and upstream split per service', () => {
    const before = snap(
      0,
      proxy('client-1', 'client', [outboundXx(0), upstream('orders|8080|v1', 100), upstream('orders|8080|v2', 10)]),
      proxy('orders-1', 'orders', [rqXx('2', 50), rqXx('5', 0)]),
      proxy('orders-2', 'orders', [rqXx('2', 60)]),
    );
    const after = snap(
      2000,
      proxy('client-1', 'client', [
        outboundXx(200),
        upstream('orders|8080|v1', 260),
        upstream('orders|8080|v2', 50),
        upstream('inbound|8080', 999),
      ]),
      proxy('orders-1', 'orders', [rqXx('2', 130), rqXx('5', 10)]),
      proxy('orders-2', 'orders', [rqXx('2', 170), rqXx('4', 10)]),
    );
    const [client, orders] = serviceStats(before, after);
    expect(client).to.deep.include({ service: 'client', proxies: 1, rps: 0, successRate: null, upstreams: [] });
    expect(orders?.service).to.equal('orders');
    expect(orders?.proxies).to.equal(2);
    // (80 + 10) + (110 + 10) = 210 requests in 2 s; 10 were 5xx (a 4xx is not a failure of the service).
    expect(orders?.rps).to.equal(105);
    expect(orders?.successRate).to.be.closeTo(200 / 210, 1e-12);
    expect(orders?.upstreams).to.deep.equal([
      { cluster: 'orders|8080|v1', rps: 80, share: 0.8 },
      { cluster: 'orders|8080|v2', rps: 20, share: 0.2 },
    ]);
    expect(formatSplit(orders!)).to.equal('orders|8080|v1 80% / orders|8080|v2 20%');
    expect(orders?.p50Ms).to.equal(null);
    expect(orders?.p99Ms).to.equal(null);
  });

  it('takes p50/p99 from bucket deltas summed over the service proxies', () => {
    const before = snap(
      0,
      proxy('a', 'web', [bucket('5', 10), bucket('10', 10), bucket('50', 10), bucket('+Inf', 10)]),
    );
    // 100 new requests: 50 at <= 5 ms, 40 in (5, 10], 10 in (10, 50].
    const after = snap(
      1000,
      proxy('a', 'web', [bucket('5', 60), bucket('10', 100), bucket('50', 110), bucket('+Inf', 110), rqXx('2', 100)]),
    );
    const [web] = serviceStats(before, after);
    expect(web?.p50Ms).to.equal(5);
    expect(web?.p99Ms).to.be.closeTo(10 + 40 * (9 / 10), 1e-9);
    expect(web?.rps).to.equal(100);
  });

  it('counts from zero after a restart or for new series; skips proxies new or unreadable; reads ejections', () => {
    const before = snap(0, proxy('a', 'web', [rqXx('2', 500)]), proxy('b', 'web', [], 'no answer within 1000 ms'));
    const after = snap(
      1000,
      proxy('a', 'web', [rqXx('2', 20), rqXx('5', 5), ejected('web|8080', 1)]),
      proxy('b', 'web', [rqXx('2', 1000)]),
      proxy('c', 'web', [rqXx('2', 1000)]),
      proxy('d', 'web', [], 'HTTP 503 from /stats/prometheus'),
    );
    const [web] = serviceStats(before, after);
    expect(web).to.deep.include({ proxies: 3, rps: 25, successRate: 0.8, ejectionsActive: 1 });
    const text = renderTop(before, after);
    expect(text).to.match(/^trellis top: 3 sidecars over 1\.0s/);
    expect(text).to.include('d (web): HTTP 503 from /stats/prometheus');
    // P50, P99, TCP CX/S and TCP KB/S empty; 1 ejected; no split.
    expect(text).to.match(/web\s+3\s+25\.0\s+80\.0%\s+-\s+-\s+-\s+-\s+1\s+-/);
  });

  it('TCP services: connections and bytes per second through their inbound TCP proxies', () => {
    const tcp = (name: string, value: number, prefix = 'inbound'): SnapshotSample => ({
      name,
      labels: { envoy_tcp_prefix: prefix },
      value,
    });
    const cx = 'envoy_tcp_downstream_cx_total';
    const rx = 'envoy_tcp_downstream_cx_rx_bytes_total';
    const tx = 'envoy_tcp_downstream_cx_tx_bytes_total';
    const before = snap(
      0,
      proxy('db-1', 'db', [tcp(cx, 10), tcp(rx, 1000), tcp(tx, 5000)]),
      proxy('db-2', 'db', [tcp(cx, 0), tcp(rx, 0), tcp(tx, 0)]),
      proxy('web-1', 'web', [rqXx('2', 0), tcp(cx, 0, 'outbound-tcp|db|5432')]),
    );
    const after = snap(
      2000,
      proxy('db-1', 'db', [tcp(cx, 14), tcp(rx, 3048), tcp(tx, 9096)]),
      proxy('db-2', 'db', [tcp(cx, 2), tcp(rx, 1024), tcp(tx, 1024)]),
      proxy('web-1', 'web', [rqXx('2', 10), tcp(cx, 6, 'outbound-tcp|db|5432')]),
    );
    const [db, web] = serviceStats(before, after);
    // 6 connections and 8 KiB both ways in 2 s; the caller's outbound TCP listener does not count for either.
    expect(db).to.deep.include({
      service: 'db',
      rps: 0,
      successRate: null,
      tcpCxPerSecond: 3,
      tcpBytesPerSecond: 4096,
    });
    expect(web).to.deep.include({ service: 'web', rps: 5, tcpCxPerSecond: null, tcpBytesPerSecond: null });
    expect(renderTop(before, after)).to.match(/db\s+2\s+0\.0\s+-\s+-\s+-\s+3\.0\s+4\.0\s+-\s+-/);
  });

  it('histogramQuantile interpolates like Prometheus and answers null without observations', () => {
    const inf = Number.POSITIVE_INFINITY;
    expect(histogramQuantile(0.5, [])).to.equal(null);
    expect(histogramQuantile(0.5, [{ le: inf, count: 0 }])).to.equal(null);
    expect(
      histogramQuantile(0.5, [
        { le: 10, count: 0 },
        { le: 20, count: 10 },
        { le: inf, count: 10 },
      ]),
    ).to.equal(15);
    expect(
      histogramQuantile(0.99, [
        { le: 10, count: 5 },
        { le: inf, count: 10 },
      ]),
    ).to.equal(10);
    expect(serviceOfCluster('orders|8080|v1')).to.equal('orders');
    expect(serviceOfCluster('inbound|8080')).to.equal(undefined);
    expect(serviceOfCluster('outbound')).to.equal(undefined);
  });
});
