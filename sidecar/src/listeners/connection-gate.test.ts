// Connection limits at the listening socket: per listener and per client IP, refused at once, established kept.
import { once } from 'node:events';
import net from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import type { ListenerConfig } from '../config/model.ts';
import { ActiveListener } from './active-listener.ts';
import { ConnectionGate } from './connection-gate.ts';
import type { ConnectionHandler } from './connection-handler.ts';
import { tcpListener } from './fixtures.ts';

/** A handler that keeps every connection open and answers 'hi' so a client knows it was accepted. */
function holdingHandler(): ConnectionHandler & { open: Set<net.Socket> } {
  const open = new Set<net.Socket>();
  return {
    open,
    handle(socket) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
      socket.on('end', () => socket.end());
      socket.write('hi');
    },
    async drain() {
      for (const s of open) s.destroy();
    },
    activeConnections: () => open.size,
  };
}

/** Connects from `localAddress`; resolves 'accepted' when greeted, 'refused' when closed without a greeting. */
function dial(port: number, localAddress = '127.0.0.1'): Promise<{ socket: net.Socket; outcome: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    socket.on('error', () => undefined);
    socket.once('data', () => resolve({ socket, outcome: 'accepted' }));
    socket.once('close', () => resolve({ socket, outcome: 'refused' }));
  });
}

describe('connection limits', () => {
  const sockets: net.Socket[] = [];
  let listener: ActiveListener | undefined;

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await listener?.drain(0);
    listener = undefined;
  });

  async function start(config: ListenerConfig, max: number, perIp: number): Promise<number> {
    listener = new ActiveListener(config, holdingHandler(), pino({ level: 'silent' }), {
      maxConnections: max,
      maxConnectionsPerClientIp: perIp,
    });
    await listener.bind();
    return listener.status().boundPort as number;
  }

  it('refuses connections past max_connections, keeps the established ones, admits again after a close', async () => {
    const port = await start(tcpListener('l', 0, ['a']), 3, 0);
    const first = await Promise.all([1, 2, 3].map(() => dial(port)));
    sockets.push(...first.map((d) => d.socket));
    expect(first.map((d) => d.outcome)).to.deep.equal(['accepted', 'accepted', 'accepted']);
    const fourth = await dial(port);
    expect(fourth.outcome).to.equal('refused');
    expect(listener?.status().overflowConnections).to.equal(1);
    for (const d of first) expect(d.socket.destroyed).to.equal(false);
    const closed = once(first[0]?.socket as net.Socket, 'close');
    first[0]?.socket.destroy();
    await closed;
    // The listener sees the close a moment later: retry until admitted (bounded by the test timeout).
    let again = await dial(port);
    while (again.outcome !== 'accepted') again = await dial(port);
    sockets.push(again.socket);
  });

  it('limits connections per client IP, not other clients', async () => {
    const port = await start(tcpListener('l', 0, ['a']), 0, 2);
    const mine = await Promise.all([1, 2].map(() => dial(port, '127.0.0.1')));
    sockets.push(...mine.map((d) => d.socket));
    expect((await dial(port, '127.0.0.1')).outcome).to.equal('refused');
    const other = await dial(port, '127.0.0.2');
    sockets.push(other.socket);
    expect(other.outcome).to.equal('accepted');
  });

  it("a listener's connection_limit max_connections overrides the sidecar-wide limit", async () => {
    const port = await start({ ...tcpListener('l', 0, ['a']), maxConnections: 1 }, 100, 0);
    const first = await dial(port);
    sockets.push(first.socket);
    expect(first.outcome).to.equal('accepted');
    expect((await dial(port)).outcome).to.equal('refused');
  });

  it("a listener's network local_ratelimit closes new connections past its bucket, whatever is still open", async () => {
    const connectionRateLimit = {
      statPrefix: 'inbound_cx',
      tokenBucket: { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 3_600_000 },
    };
    const port = await start({ ...tcpListener('l', 0, ['a']), connectionRateLimit }, 100, 0);
    for (let i = 0; i < 2; i++) {
      const d = await dial(port);
      expect(d.outcome).to.equal('accepted');
      // Closed at once: a rate is about new connections, not open ones.
      d.socket.destroy();
    }
    expect((await dial(port)).outcome).to.equal('refused');
    expect(listener?.status().connectionRateLimit).to.deep.equal({ statPrefix: 'inbound_cx', rateLimited: 1 });
    expect(listener?.status().overflowConnections).to.equal(0);
  });

  it('forgets a client IP once its connections are gone', async () => {
    const gate = new ConnectionGate();
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const accepted = once(server, 'connection');
    const client = net.connect(port, '127.0.0.1');
    const [socket] = (await accepted) as [net.Socket];
    expect(gate.admit(socket, { maxConnections: 0, maxConnectionsPerClientIp: 1 })).to.equal(true);
    expect(gate.clients).to.equal(1);
    const closed = once(socket, 'close');
    client.destroy();
    socket.destroy();
    await closed;
    expect(gate.size).to.equal(0);
    expect(gate.clients).to.equal(0);
    server.close();
  });
});
