// ListenerManager over real sockets: bind, add / change / remove without dropping open connections, bind errors, drain.
import { once } from 'node:events';
import net, { type Server } from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import { Stats } from '../common/stats.ts';
import { ConfigRelay } from '../config/config-relay.ts';
import type { ListenerConfig, SidecarConfig } from '../config/model.ts';
import { createTcpHandler, type TcpDeps } from '../tcp/tcp-proxy.ts';
import { closeServer, exchange, listen, openClient, trackedServer } from '../tcp/test-helpers.ts';
import { ClusterManager } from '../upstream/cluster-manager.ts';
import { edsCluster, loadAssignment, sidecarConfig } from '../upstream/fixtures.ts';
import type { ConnectionHandler, ConnectionHandlerFactory } from './connection-handler.ts';
import { httpListener, tcpListener } from './fixtures.ts';
import { ListenerManager } from './listener-manager.ts';

/** A stand-in 'http' handler: answers every connection with a fixed line and closes. */
const fakeHttp: ConnectionHandlerFactory<unknown> = (listener) => {
  const open = new Set<net.Socket>();
  const handler: ConnectionHandler = {
    handle(socket) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.end(`http:${listener.name}:${listener.version}`);
    },
    async drain() {
      for (const s of open) s.destroy();
    },
    activeConnections: () => open.size,
  };
  return handler;
};

describe('ListenerManager', () => {
  const upstreams: Server[] = [];
  const ports: Record<string, number> = {};
  let manager: ListenerManager<TcpDeps> | undefined;
  let source: ConfigRelay;
  let clusters: ClusterManager;

  /** Two echo-ish upstreams, 'a' and 'b', that prefix their echo with their name. */
  before(async () => {
    for (const name of ['a', 'b']) {
      const server = trackedServer((socket) => {
        socket.on('data', (d: Buffer) => socket.write(`${name}:${d.toString()}`));
        socket.on('end', () => socket.end());
      });
      upstreams.push(server);
      ports[name] = await listen(server);
    }
  });

  after(async () => {
    for (const s of upstreams) await closeServer(s);
  });

  function config(listeners: ListenerConfig[]): SidecarConfig {
    return sidecarConfig({
      listeners,
      clusters: [edsCluster('a'), edsCluster('b')],
      endpoints: [loadAssignment('a', `127.0.0.1:${ports['a']}`), loadAssignment('b', `127.0.0.1:${ports['b']}`)],
    });
  }

  function startManager(initial: SidecarConfig, grace = 60_000): Promise<void> {
    source = new ConfigRelay(initial);
    clusters = new ClusterManager();
    clusters.update(initial);
    source.onChange((c) => clusters.update(c));
    manager = new ListenerManager({
      source,
      factories: new Map([
        ['tcp', createTcpHandler],
        ['http', fakeHttp],
      ]),
      deps: { clusters, stats: new Stats(), logger: pino({ level: 'silent' }) },
      logger: pino({ level: 'silent' }),
      drainGraceMs: grace,
    });
    return manager.start();
  }

  function boundPort(name: string): number {
    const status = manager!.status().find((s) => s.name === name);
    if (status?.boundPort === undefined) throw new Error(`${name} not bound: ${JSON.stringify(status)}`);
    return status.boundPort;
  }

  afterEach(async () => {
    await manager?.close();
    manager = undefined;
  });

  it('binds every listener and reports it in status', async () => {
    await startManager(config([tcpListener('to-a', 0, ['a']), httpListener('web', 0, 'web')]));
    expect(manager!.allBound()).to.equal(true);
    const status = manager!.status();
    expect(status.map((s) => [s.name, s.state, s.filter])).to.deep.equal([
      ['to-a', 'bound', 'tcp'],
      ['web', 'bound', 'http'],
    ]);
    const echoed = await exchange(boundPort('to-a'), (s) => s.end('hi'));
    expect(echoed.received.toString()).to.equal('a:hi');
    const http = await exchange(boundPort('web'), () => {});
    expect(http.received.toString()).to.equal('http:web:1');
  });

  it('adds, changes and removes listeners without dropping an open TCP connection', async () => {
    await startManager(config([tcpListener('tcp', 0, ['a'])]));
    const port = boundPort('tcp');
    const client = await openClient(port);
    client.socket.write('1');
    expect((await client.read(3)).toString()).to.equal('a:1');

    // Change: same socket (no rebind), new connections go to the new handler (cluster b), the old one keeps a.
    source.set(config([tcpListener('tcp', 0, ['b'], { version: '2' }), tcpListener('extra', 0, ['b'])]));
    await manager!.settled();
    expect(boundPort('tcp')).to.equal(port);
    const fresh = await exchange(port, (s) => s.end('2'));
    expect(fresh.received.toString()).to.equal('b:2');
    client.socket.write('3');
    expect((await client.read(3)).toString()).to.equal('a:3');
    expect(manager!.status().find((s) => s.name === 'tcp')).to.include({ version: '2', activeConnections: 1 });
    const extra = await exchange(boundPort('extra'), (s) => s.end('x'));
    expect(extra.received.toString()).to.equal('b:x');

    // Remove: no new connections, the open one keeps flowing until it ends.
    source.set(config([tcpListener('extra', 0, ['b'])]));
    const refused = net.connect(port, '127.0.0.1');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).to.equal('ECONNREFUSED');
    client.socket.write('4');
    expect((await client.read(3)).toString()).to.equal('a:4');
    expect(manager!.status().map((s) => [s.name, s.state])).to.deep.equal([
      ['extra', 'bound'],
      ['tcp', 'draining'],
    ]);
    const closed = once(client.socket, 'close');
    client.socket.end();
    await closed;
  });

  it('logs a bind error (port in use) in status without failing, and rebinds when the listener changes', async () => {
    const squatter = net.createServer();
    const port = await listen(squatter);
    await startManager(config([tcpListener('busy', port, ['a']), tcpListener('ok', 0, ['a'])]));
    const busy = manager!.status().find((s) => s.name === 'busy')!;
    expect(busy.state).to.equal('error');
    expect(busy.error).to.match(/EADDRINUSE/);
    expect(manager!.status().find((s) => s.name === 'ok')?.state).to.equal('bound');
    expect(manager!.allBound()).to.equal(false);

    await closeServer(squatter);
    await manager!.apply(config([tcpListener('busy', port, ['a'], { version: '2' }), tcpListener('ok', 0, ['a'])]));
    expect(manager!.status().find((s) => s.name === 'busy')).to.include({ state: 'bound', boundPort: port });
    expect(manager!.allBound()).to.equal(true);
    const echoed = await exchange(port, (s) => s.end('again'));
    expect(echoed.received.toString()).to.equal('a:again');
  });

  it('retries a failed bind on its own until the port is free, and tells its owner', async () => {
    const squatter = net.createServer();
    const port = await listen(squatter);
    source = new ConfigRelay(config([tcpListener('late', port, ['a'])]));
    clusters = new ClusterManager();
    clusters.update(source.current());
    let settled: () => void = () => {};
    manager = new ListenerManager({
      source,
      factories: new Map([['tcp', createTcpHandler]]),
      deps: { clusters, stats: new Stats(), logger: pino({ level: 'silent' }) },
      logger: pino({ level: 'silent' }),
      bindRetryMs: 10,
      onBindSettled: () => settled(),
    });
    await manager.start();
    expect(manager.allBound()).to.equal(false);
    const bound = new Promise<void>((resolve) => {
      settled = () => {
        if (manager!.allBound()) resolve();
      };
    });
    await closeServer(squatter);
    await bound;
    expect(manager.status()[0]).to.include({ state: 'bound', boundPort: port });
    expect(manager.status()[0]?.error).to.equal(undefined);
  });

  it('reports a listener whose handler cannot be built, and keeps serving the previous handler on a bad change', async () => {
    const failing: ConnectionHandlerFactory<TcpDeps> = () => {
      throw new Error('bad filter config');
    };
    source = new ConfigRelay(config([tcpListener('t', 0, ['a'])]));
    clusters = new ClusterManager();
    clusters.update(source.current());
    let fail = false;
    manager = new ListenerManager({
      source,
      factories: new Map([['tcp', (l, d) => (fail ? failing(l, d) : createTcpHandler(l, d))]]),
      deps: { clusters, stats: new Stats(), logger: pino({ level: 'silent' }) },
      logger: pino({ level: 'silent' }),
    });
    await manager.start();
    fail = true;
    await manager.apply(config([tcpListener('t', 0, ['a'], { version: '2' }), httpListener('h', 0, 'r')]));
    const t = manager.status().find((s) => s.name === 't')!;
    expect(t).to.include({ state: 'bound', error: 'bad filter config' });
    const h = manager.status().find((s) => s.name === 'h')!;
    expect(h.state).to.equal('error');
    expect(h.error).to.match(/no connection handler for filter type 'http'/);
    const echoed = await exchange(t.boundPort!, (s) => s.end('still'));
    expect(echoed.received.toString()).to.equal('a:still');
  });

  it('drainAll stops accepting, lets open connections finish, and ignores later config', async () => {
    await startManager(config([tcpListener('tcp', 0, ['a'])]));
    const port = boundPort('tcp');
    const client = await openClient(port);
    const drained = manager!.drainAll(60_000);
    expect(manager!.isDraining()).to.equal(true);
    const refused = net.connect(port, '127.0.0.1');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).to.equal('ECONNREFUSED');
    client.socket.write('last');
    expect((await client.read(6)).toString()).to.equal('a:last');
    source.set(config([tcpListener('tcp', 0, ['a']), tcpListener('late', 0, ['a'])]));
    expect(manager!.status().map((s) => s.name)).to.deep.equal(['tcp']);
    client.socket.end();
    await drained;
    expect(manager!.status()[0]?.state).to.equal('closed');
    expect(manager!.activeConnections()).to.equal(0);
  });

  it('close() cuts open connections and unsubscribes', async () => {
    await startManager(config([tcpListener('tcp', 0, ['a'])]));
    const client = await openClient(boundPort('tcp'));
    const closed = once(client.socket, 'close');
    await manager!.close();
    await closed;
    expect(source.subscribers()).to.equal(1); // only the test's own cluster-manager subscription remains
  });
});
