// TCP health checks against real servers on loopback: connect-only and send/receive, leaving and returning.

import net, { type AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { TcpHealthProbe } from '../../config/model.ts';
import { fastCheck, loopbackHost, Watched } from './test-helpers.ts';

function listen(server: net.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A server that answers each "PING" with the current reply ("PONG" while healthy). */
function pingServer(reply: { value: string }, sockets: Set<net.Socket>): net.Server {
  return net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (data) => {
      if (data.toString().includes('PING')) socket.write(reply.value);
    });
  });
}

describe('TCP health checks', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });

  it('connect-only: a host that stops accepting leaves after the threshold and returns when it listens again', async () => {
    const sockets = new Set<net.Socket>();
    let accepted = 0;
    const server = net.createServer((s) => {
      accepted++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    const port = await listen(server);
    const probe: TcpHealthProbe = { kind: 'tcp', receive: [] };
    const w = new Watched(fastCheck(probe, { unhealthyThreshold: 3, healthyThreshold: 2 }), loopbackHost(port));
    cleanup.push(() => w.close());
    await w.checksDone(2);
    expect(w.checks.map((c) => c.result.ok)).to.deep.equal([true, true]);
    expect(accepted).to.be.at.least(1);
    await closeServer(server, sockets);
    const before = w.checks.length;
    const leftAt = await w.becomes(false);
    expect(w.checks.slice(before, leftAt + 1).filter((c) => !c.result.ok)).to.have.length(3);
    expect(w.checks[leftAt]?.result).to.include({ ok: false, kind: 'network' });
    const again = net.createServer((s) => s.destroy());
    await listen(again, port);
    cleanup.push(() => new Promise((r) => again.close(r)));
    const back = w.checks.length;
    const returnedAt = await w.becomes(true);
    expect(w.checks.slice(back, returnedAt + 1).filter((c) => c.result.ok)).to.have.length(2);
  });

  it('send/receive: passes on the expected reply (kept connection), fails on silence via the timeout', async () => {
    const reply = { value: 'PONG' };
    const sockets = new Set<net.Socket>();
    let connections = 0;
    const server = pingServer(reply, sockets);
    server.on('connection', () => connections++);
    const port = await listen(server);
    cleanup.push(() => closeServer(server, sockets));
    const probe: TcpHealthProbe = {
      kind: 'tcp',
      send: Uint8Array.from(Buffer.from('PING')),
      receive: [Uint8Array.from(Buffer.from('PO')), Uint8Array.from(Buffer.from('NG'))],
    };
    const w = new Watched(fastCheck(probe, { timeoutMs: 50, unhealthyThreshold: 2 }), loopbackHost(port));
    cleanup.push(() => w.close());
    await w.checksDone(3);
    expect(w.checks.every((c) => c.result.ok)).to.equal(true);
    expect(connections).to.equal(1); // reuse_connection keeps one socket across checks
    reply.value = 'NOPE';
    const before = w.checks.length;
    const at = await w.becomes(false);
    const failures = w.checks.slice(before, at + 1).filter((c) => !c.result.ok);
    expect(failures.map((c) => c.result)).to.deep.equal(
      Array(2).fill({ ok: false, kind: 'network', detail: 'timeout' }),
    );
    reply.value = 'PONG';
    await w.becomes(true);
  });

  it('without reuse_connection every check opens its own connection', async () => {
    const reply = { value: 'PONG' };
    const sockets = new Set<net.Socket>();
    let connections = 0;
    const server = pingServer(reply, sockets);
    server.on('connection', () => connections++);
    const port = await listen(server);
    cleanup.push(() => closeServer(server, sockets));
    const probe: TcpHealthProbe = {
      kind: 'tcp',
      send: Uint8Array.from(Buffer.from('PING')),
      receive: [Uint8Array.from(Buffer.from('PONG'))],
    };
    const w = new Watched(fastCheck(probe, { reuseConnection: false }), loopbackHost(port));
    cleanup.push(() => w.close());
    await w.checksDone(3);
    expect(w.checks.every((c) => c.result.ok)).to.equal(true);
    expect(connections).to.equal(3);
  });
});
