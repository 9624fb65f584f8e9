// The assembled Sidecar with a hand-set config source: readiness, traffic, live config changes, admin, drain, stop.
import { once } from 'node:events';
import net, { type Server } from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import { ConfigRelay } from './config/config-relay.ts';
import type { ListenerConfig } from './config/model.ts';
import { tcpListener } from './listeners/fixtures.ts';
import { Sidecar, type SidecarConfigSource } from './sidecar.ts';
import { closeServer, exchange, listen, trackedServer } from './tcp/test-helpers.ts';
import { edsCluster, loadAssignment, sidecarConfig } from './upstream/fixtures.ts';

/** A config source whose readiness the test decides. */
class FakeXds extends ConfigRelay implements SidecarConfigSource {
  started = false;
  stopped = false;
  private markReady: () => void = () => {};
  private readonly readyPromise = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });
  start(): void {
    this.started = true;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  ready(): Promise<void> {
    return this.readyPromise;
  }
  becomeReady(): void {
    this.markReady();
  }
  dump(): unknown {
    return { types: { listener: [...this.current().listeners.keys()] } };
  }
}

describe('Sidecar', () => {
  let upstream: Server;
  let upstreamPort: number;
  let sidecar: Sidecar | undefined;
  let xds: FakeXds;
  let admin: string;

  before(async () => {
    upstream = trackedServer((socket) => {
      socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString()}`));
      socket.on('end', () => socket.end());
    });
    upstreamPort = await listen(upstream);
  });

  after(async () => {
    await closeServer(upstream);
  });

  afterEach(async () => {
    await sidecar?.stop(0);
    sidecar = undefined;
  });

  function config(listeners: ListenerConfig[], clusters = ['echo']) {
    return sidecarConfig({
      listeners,
      clusters: clusters.map((c) => edsCluster(c)),
      endpoints: clusters.map((c) => loadAssignment(c, `127.0.0.1:${upstreamPort}`)),
    });
  }

  async function start(): Promise<void> {
    xds = new FakeXds();
    sidecar = new Sidecar({ source: xds, logger: pino({ level: 'silent' }), admin: { address: '127.0.0.1', port: 0 } });
    const { adminPort } = await sidecar.start();
    admin = `http://127.0.0.1:${adminPort}`;
  }

  const boundPort = (name: string): number => sidecar!.listenerStatus().find((l) => l.name === name)!.boundPort!;

  it('is not ready until the source has a complete config and its listeners are bound', async () => {
    await start();
    expect(xds.started).to.equal(true);
    let r = await fetch(`${admin}/ready`);
    expect([r.status, await r.text()]).to.deep.equal([503, 'PRE_INITIALIZING\n']);
    xds.set(config([tcpListener('echo-tcp', 0, ['echo'])]));
    xds.becomeReady();
    await sidecar!.whenReady();
    r = await fetch(`${admin}/ready`);
    expect([r.status, await r.text()]).to.deep.equal([200, 'LIVE\n']);
    const reply = await exchange(boundPort('echo-tcp'), (s) => s.end('hi'));
    expect(reply.received.toString()).to.equal('echo:hi');
  });

  it('applies clusters before listeners, so a new listener routes to a new cluster at once', async () => {
    await start();
    xds.set(config([tcpListener('a', 0, ['echo'])]));
    xds.becomeReady();
    await sidecar!.whenReady();
    xds.set(config([tcpListener('a', 0, ['echo']), tcpListener('b', 0, ['fresh'])], ['echo', 'fresh']));
    await sidecar!.listeners.settled();
    const reply = await exchange(boundPort('b'), (s) => s.end('new'));
    expect(reply.received.toString()).to.equal('echo:new');
    const clusters = await (await fetch(`${admin}/clusters`)).text();
    expect(clusters).to.contain(`fresh::127.0.0.1:${upstreamPort}::cx_active::`);
    const dump = (await (await fetch(`${admin}/config_dump`)).json()) as { xds: unknown; listeners: unknown[] };
    expect(dump.xds).to.deep.equal({ types: { listener: ['a', 'b'] } });
    expect(dump.listeners).to.have.length(2);
    const stats = await (await fetch(`${admin}/stats`)).text();
    expect(stats).to.contain('tcp.b.downstream_cx_total: 1');
  });

  it('POST /drain: /ready turns 503 and the listeners stop accepting', async () => {
    await start();
    xds.set(config([tcpListener('t', 0, ['echo'])]));
    xds.becomeReady();
    await sidecar!.whenReady();
    const port = boundPort('t');
    const r = await fetch(`${admin}/drain`, { method: 'POST' });
    expect(r.status).to.equal(200);
    const ready = await fetch(`${admin}/ready`);
    expect([ready.status, await ready.text()]).to.deep.equal([503, 'DRAINING\n']);
    const refused = net.connect(port, '127.0.0.1');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).to.equal('ECONNREFUSED');
  });

  it('stop() lets an in-flight connection finish within the grace, then closes the source and admin port', async () => {
    await start();
    xds.set(config([tcpListener('t', 0, ['echo'])]));
    xds.becomeReady();
    await sidecar!.whenReady();
    const client = net.connect(boundPort('t'), '127.0.0.1');
    await once(client, 'connect');
    const stopped = sidecar!.stop(10_000);
    client.write('late');
    const [data] = (await once(client, 'data')) as [Buffer];
    expect(data.toString()).to.equal('echo:late');
    client.end();
    await stopped;
    expect(xds.stopped).to.equal(true);
    await fetch(`${admin}/healthz`).then(
      () => expect.fail('admin port still open'),
      (err: Error) => expect(err).to.be.instanceOf(TypeError),
    );
  });
});
