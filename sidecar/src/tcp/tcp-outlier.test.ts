// TCP proxy with outlier detection on loopback sockets: connect outcomes reach the detector, refused hosts are ejected.
import net, { type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import { Stats } from '../common/stats.ts';
import type { OutlierDetectionConfig } from '../config/model.ts';
import { tcpListener } from '../listeners/fixtures.ts';
import { ClusterManager } from '../upstream/cluster-manager.ts';
import type { Dialed } from '../upstream/dialer.ts';
import { edsCluster, loadAssignment, sidecarConfig } from '../upstream/fixtures.ts';
import type { UpstreamHost } from '../upstream/host/upstream-host.ts';
import type { OutlierResult } from '../upstream/outlier/outlier-detector.ts';
import { createTcpHandler, type TcpProxyHandler } from './tcp-proxy.ts';
import { closeServer, echoServer, exchange, listen, trackedServer } from './test-helpers.ts';

const CLUSTER = 'db|5432';

describe('TCP proxy outlier detection', () => {
  const servers: Server[] = [];
  let handler: TcpProxyHandler | undefined;
  let stats: Stats;
  let clusters: ClusterManager;

  /** A proxy in front of `ports`, with outlier detection `od`. */
  async function start(ports: number[], od: OutlierDetectionConfig): Promise<number> {
    stats = new Stats();
    clusters = new ClusterManager({ stats });
    clusters.update(
      sidecarConfig({
        clusters: [edsCluster(CLUSTER, { connectTimeoutMs: 50, outlierDetection: od })],
        endpoints: [loadAssignment(CLUSTER, ...ports.map((p) => `127.0.0.1:${p}`))],
      }),
    );
    const h = createTcpHandler(tcpListener('db', 0, [CLUSTER], { idleTimeoutMs: 0 }), {
      clusters,
      stats,
      logger: pino({ level: 'silent' }),
    }) as TcpProxyHandler;
    handler = h;
    const proxy = trackedServer((socket: Socket) => h.handle(socket));
    servers.push(proxy);
    return listen(proxy);
  }

  async function liveServer(): Promise<number> {
    const s = echoServer();
    servers.push(s);
    return listen(s);
  }

  async function deadPort(): Promise<number> {
    // Port 1 on loopback: nothing listens there (a freed port can be taken by any later listener of the run).
    return 1;
  }

  /** Every result the cluster hands to its outlier detector, by host port. */
  function recordResults(): [number, OutlierResult][] {
    const cluster = clusters.get(CLUSTER)!;
    const seen: [number, OutlierResult][] = [];
    const forward = cluster.recordResult.bind(cluster);
    cluster.recordResult = (host, result) => {
      seen.push([host.port, result]);
      forward(host, result);
    };
    return seen;
  }

  afterEach(async () => {
    await handler?.drain(0);
    handler = undefined;
    for (const s of servers.splice(0)) await closeServer(s);
  });

  it('consecutive refused connects eject the host; then every connection reaches the live one', async () => {
    const live = await liveServer();
    const dead = await deadPort();
    const port = await start([live, dead], {
      intervalMs: 60_000,
      baseEjectionTimeMs: 60_000,
      maxEjectionPercent: 100,
      consecutive5xx: 3,
    });
    const seen = recordResults();
    const deadHost = clusters
      .get(CLUSTER)!
      .hosts()
      .find((h) => h.port === dead) as UpstreamHost;
    let refused = 0;
    while (!deadHost.healthFlags().includes('failed_outlier_check')) {
      const r = await exchange(port, (s) => s.end('x'));
      if (r.received.length === 0) refused++;
      expect(refused).to.be.at.most(3);
    }
    expect(refused).to.equal(3);
    expect(seen.filter(([p]) => p === dead).map(([, r]) => r)).to.deep.equal(
      Array.from({ length: 3 }, () => ({ localOrigin: 'connect-failure' })),
    );
    expect(seen.filter(([p]) => p === live).every(([, r]) => r.localOrigin === 'success')).to.equal(true);
    expect(stats.counter(`cluster.${CLUSTER}.outlier_detection.ejections_enforced_consecutive_5xx`)).to.equal(1);
    for (let i = 0; i < 6; i++) {
      expect((await exchange(port, (s) => s.end('ping'))).received.toString()).to.equal('ping');
    }
  });

  it('connect timeouts count as local-origin failures; a successful connect resets the streak', async () => {
    const live = await liveServer();
    const port = await start([live], {
      intervalMs: 60_000,
      baseEjectionTimeMs: 60_000,
      maxEjectionPercent: 100,
      splitExternalLocalOriginErrors: true,
      consecutiveLocalOriginFailure: 2,
    });
    const seen = recordResults();
    const host = clusters.get(CLUSTER)!.hosts()[0] as UpstreamHost;
    // Never connects: the 50 ms connect timeout fires.
    const hang = (): Dialed => ({ socket: new net.Socket(), ready: 'connect', tls: undefined });
    const real = handler!.dial.bind(handler);
    handler!.dial = hang;
    await exchange(port, (s) => s.write('x'));
    handler!.dial = real;
    await exchange(port, (s) => s.end('x'));
    handler!.dial = hang;
    await exchange(port, (s) => s.write('x'));
    expect(host.healthy).to.equal(true);
    await exchange(port, (s) => s.write('x'));
    expect(seen.map(([, r]) => r.localOrigin)).to.deep.equal(['timeout', 'success', 'timeout', 'timeout']);
    expect(host.healthFlags()).to.deep.equal(['failed_outlier_check']);
    expect(
      stats.counter(`cluster.${CLUSTER}.outlier_detection.ejections_enforced_consecutive_local_origin_failure`),
    ).to.equal(1);
  });
});
