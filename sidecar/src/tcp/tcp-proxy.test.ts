// TCP proxy over real loopback sockets: echo, half-close both ways, byte counters, connect failure, idle, drain.
import { once } from 'node:events';
import net, { type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import { Stats } from '../common/stats.ts';
import type { ConnectionHandler } from '../listeners/connection-handler.ts';
import { tcpListener } from '../listeners/fixtures.ts';
import { ClusterManager } from '../upstream/cluster-manager.ts';
import { edsCluster, loadAssignment, sidecarConfig } from '../upstream/fixtures.ts';
import { createTcpHandler, type TcpProxyHandler } from './tcp-proxy.ts';
import { closeServer, echoServer, exchange, listen, openClient, trackedServer } from './test-helpers.ts';

describe('TCP proxy', () => {
  let upstream: Server | undefined;
  let proxy: Server | undefined;
  let handler: ConnectionHandler | undefined;
  let stats: Stats;
  let clusters: ClusterManager;

  /** Starts the proxy in front of `upstreamServer` (or a port that refuses connections). */
  async function start(
    upstreamServer: Server | number,
    options: { idleTimeoutMs?: number; connectTimeoutMs?: number } = {},
  ): Promise<number> {
    let upstreamPort: number;
    if (typeof upstreamServer === 'number') upstreamPort = upstreamServer;
    else {
      upstream = upstreamServer;
      upstreamPort = await listen(upstreamServer);
    }
    stats = new Stats();
    clusters = new ClusterManager({ stats });
    clusters.update(
      sidecarConfig({
        clusters: [edsCluster('db|5432', { connectTimeoutMs: options.connectTimeoutMs ?? 1000 })],
        endpoints: [loadAssignment('db|5432', `127.0.0.1:${upstreamPort}`)],
      }),
    );
    const listener = tcpListener('db', 0, ['db|5432'], { idleTimeoutMs: options.idleTimeoutMs ?? 0 });
    const h = createTcpHandler(listener, {
      clusters,
      stats,
      logger: pino({ level: 'silent' }),
    });
    handler = h;
    proxy = trackedServer((socket: Socket) => h.handle(socket));
    return listen(proxy);
  }

  afterEach(async () => {
    await handler?.drain(0);
    await closeServer(proxy);
    await closeServer(upstream);
    handler = undefined;
    proxy = undefined;
    upstream = undefined;
  });

  it('echoes bytes, forwards the client FIN and counts bytes and connections', async () => {
    const port = await start(echoServer());
    const payload = Buffer.alloc(256 * 1024, 'x');
    const result = await exchange(port, (s) => s.end(payload));
    expect(result.ended).to.equal(true);
    expect(result.received.equals(payload)).to.equal(true);
    await handler!.drain(10_000); // resolves once the proxied connection has closed on both sides
    expect(stats.counter('tcp.db.downstream_cx_total')).to.equal(1);
    expect(stats.counter('tcp.db.downstream_cx_rx_bytes_total')).to.equal(payload.length);
    expect(stats.counter('tcp.db.downstream_cx_tx_bytes_total')).to.equal(payload.length);
    expect(stats.counter('cluster.db|5432.upstream_cx_total')).to.equal(1);
    expect(stats.counter('cluster.db|5432.upstream_cx_rx_bytes_total')).to.equal(payload.length);
    const cluster = clusters.get('db|5432')!;
    expect(cluster.stats.upstreamConnections).to.equal(1);
    expect(cluster.hosts()[0]!.stats.activeConnections).to.equal(0);
    expect(handler!.activeConnections()).to.equal(0);
  });

  it('half-close: the upstream still answers after the client has sent its FIN', async () => {
    const port = await start(
      trackedServer((socket) => {
        let n = 0;
        socket.on('data', (c: Buffer) => {
          n += c.length;
        });
        socket.on('end', () => socket.end(`got ${n} bytes`));
      }),
    );
    const result = await exchange(port, (s) => {
      s.write('hello ');
      s.end('world');
    });
    expect(result.received.toString()).to.equal('got 11 bytes');
    expect(result.ended).to.equal(true);
  });

  it('half-close: the client keeps sending after the upstream has sent its FIN', async () => {
    let upstreamGot = '';
    let upstreamDone: () => void = () => {};
    const upstreamEnded = new Promise<void>((resolve) => {
      upstreamDone = resolve;
    });
    const port = await start(
      trackedServer((socket) => {
        socket.end('bye');
        socket.on('data', (c: Buffer) => {
          upstreamGot += c.toString();
        });
        socket.on('end', upstreamDone);
      }),
    );
    const result = await exchange(port, (s) => {
      s.once('end', () => s.end('still here'));
    });
    await upstreamEnded;
    expect(result.received.toString()).to.equal('bye');
    expect(upstreamGot).to.equal('still here');
  });

  it('closes the downstream and counts upstream_cx_connect_fail when the upstream refuses', async () => {
    // Port 1 on loopback: nothing listens there (a freed port can be taken by any later listener of the run).
    const deadPort = 1;
    const port = await start(deadPort);
    const result = await exchange(port, (s) => s.write('anyone?'));
    expect(result.received.length).to.equal(0);
    await handler!.drain(10_000);
    expect(stats.counter('cluster.db|5432.upstream_cx_connect_fail')).to.equal(1);
    expect(clusters.get('db|5432')!.hosts()[0]!.stats).to.include({ failures: 1, activeConnections: 0 });
  });

  it('closes the connection when no host or no cluster is available', async () => {
    const port = await start(echoServer());
    clusters.update(sidecarConfig({ clusters: [edsCluster('db|5432')] }));
    await exchange(port, (s) => s.write('x'));
    expect(stats.counter('cluster.db|5432.upstream_cx_none_healthy')).to.equal(1);
    clusters.update(sidecarConfig({}));
    await exchange(port, (s) => s.write('x'));
    expect(stats.counter('tcp.db.downstream_cx_no_route')).to.equal(1);
  });

  it('closes an idle connection after idleTimeoutMs', async () => {
    const port = await start(echoServer(), { idleTimeoutMs: 30 });
    const result = await exchange(port, (s) => s.write('one'));
    expect(result.received.toString()).to.equal('one');
    await handler!.drain(10_000);
    expect(stats.counter('tcp.db.idle_timeout')).to.equal(1);
  });

  it('drain: open connections keep working until they finish; new ones are refused', async () => {
    const port = await start(echoServer());
    const client = await openClient(port);
    client.socket.write('before');
    expect((await client.read(6)).toString()).to.equal('before');
    const drained = handler!.drain(60_000);
    client.socket.write('during');
    expect((await client.read(6)).toString()).to.equal('during');
    const refused = await exchange(port, (s) => s.write('new'));
    expect(refused.received.length).to.equal(0);
    client.socket.end();
    await drained;
    expect(handler!.activeConnections()).to.equal(0);
  });

  it('drain: connections still open at the deadline are closed', async () => {
    const port = await start(echoServer());
    const client = await openClient(port);
    const closed = once(client.socket, 'close');
    await handler!.drain(20);
    await closed;
    expect(handler!.activeConnections()).to.equal(0);
  });

  it('drain: a later drain(0) tightens a long grace and closes what is left', async () => {
    const port = await start(echoServer());
    const client = await openClient(port);
    const closed = once(client.socket, 'close');
    const long = handler!.drain(60_000);
    await handler!.drain(0);
    await Promise.all([long, closed]);
    expect(handler!.activeConnections()).to.equal(0);
  });

  it('gives up after connectTimeoutMs: closes the downstream and counts the timeout as a connect failure', async () => {
    const port = await start(echoServer(), { connectTimeoutMs: 20 });
    // An upstream socket that never connects (no SYN answered).
    (handler as TcpProxyHandler).dial = () => ({ socket: new net.Socket(), ready: 'connect', tls: undefined });
    const result = await exchange(port, (s) => s.write('hello?'));
    expect(result.received.length).to.equal(0);
    await handler!.drain(10_000);
    expect(stats.counter('cluster.db|5432.upstream_cx_connect_timeout')).to.equal(1);
    expect(stats.counter('cluster.db|5432.upstream_cx_connect_fail')).to.equal(1);
    expect(clusters.get('db|5432')!.hosts()[0]!.stats).to.include({ failures: 1, activeConnections: 0 });
  });
});
