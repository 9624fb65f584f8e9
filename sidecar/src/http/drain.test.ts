// Drain (idle keep-alive closed, in-flight finished with Connection: close, h2 GOAWAY, grace expiry) and host removal.
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import http2 from 'node:http2';
import net, { type Socket } from 'node:net';
import { expect } from 'chai';
import {
  echoHandler,
  parseRawResponses,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  until,
  vhost,
} from './test-harness.ts';

type Upstream = Awaited<ReturnType<typeof startHttpUpstream>>;

async function connect(port: number): Promise<Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.setEncoding('latin1');
  return socket;
}

/** Collects everything a socket receives until it closes. */
function collect(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (d: string) => {
    text += d;
  });
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

describe('http handler: drain and host removal', () => {
  let web: Upstream;
  let slow: Upstream;
  const held: ServerResponse[] = [];
  let onHeld: (() => void) | undefined;
  let clusters: TestClusters;

  const heldRequest = () =>
    new Promise<void>((resolve) => {
      onHeld = resolve;
    });

  before(async () => {
    web = await startHttpUpstream(echoHandler('web'));
    slow = await startHttpUpstream((_req, res) => {
      held.push(res);
      onHeld?.();
    });
    clusters = new TestClusters();
    clusters.add('web', [web.port]);
    clusters.add('slow', [slow.port]);
  });

  after(async () => {
    for (const res of held) res.end();
    await web.close();
    await slow.close();
  });

  const routes = () =>
    routeConfig([
      vhost('v', ['*'], [route({ prefix: '/slow', cluster: 'slow' }), route({ prefix: '/', cluster: 'web' })]),
    ]);

  it('closes idle keep-alive connections and finishes in-flight requests with Connection: close', async () => {
    const proxy = await startProxy(routes(), clusters);
    try {
      const idle = await connect(proxy.port);
      const idleDone = collect(idle);
      idle.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      await once(idle, 'data');
      const busy = await connect(proxy.port);
      const busyDone = collect(busy);
      const arrived = heldRequest();
      busy.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
      await arrived;
      const drained = proxy.handler.drain(5000);
      await idleDone;
      held.pop()?.end('done');
      const [res] = parseRawResponses(await busyDone);
      expect(res?.status).to.equal(200);
      expect(res?.body).to.equal('done');
      expect(res?.headers.connection).to.equal('close');
      await drained;
      expect(proxy.handler.activeConnections()).to.equal(0);
    } finally {
      await proxy.close();
    }
  });

  it('answers a request that arrives on an idle connection just as the drain starts (Connection: close, no reset)', async () => {
    const proxy = await startProxy(routes(), clusters);
    try {
      const client = await connect(proxy.port);
      const done = collect(client);
      client.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
      await once(client, 'data');
      const drained = proxy.handler.drain(5000);
      // The client reuses its keep-alive connection at the moment the listener drains (a config swap).
      client.write('GET /second HTTP/1.1\r\nHost: a\r\n\r\n');
      const responses = parseRawResponses(await done);
      expect(responses.map((r) => r.status)).to.deep.equal([200, 200]);
      expect(responses[1]?.headers.connection).to.equal('close');
      await drained;
    } finally {
      await proxy.close();
    }
  });

  // A connection the old listener config accepted just before a swap, whose codec is not known yet (no bytes, or the
  // first bytes of what could be the h2c preface): its request is answered, with Connection: close, not reset.
  for (const [what, early] of [
    ['no bytes yet', ''],
    ['a first byte that could begin the h2c preface', 'P'],
  ] as const) {
    it(`answers the first request of a connection accepted just before the drain (${what})`, async () => {
      const proxy = await startProxy(routes(), clusters);
      try {
        const client = await connect(proxy.port);
        const done = collect(client);
        if (early !== '') client.write(early);
        await until(() => proxy.handler.activeConnections() === 1);
        const drained = proxy.handler.drain(5000);
        const rest =
          early === ''
            ? 'GET /late HTTP/1.1\r\nHost: a\r\n\r\n'
            : 'UT /late HTTP/1.1\r\nHost: a\r\ncontent-length: 0\r\n\r\n';
        client.write(rest);
        const responses = parseRawResponses(await done);
        expect(responses.map((r) => r.status)).to.deep.equal([200]);
        expect(responses[0]?.headers.connection).to.equal('close');
        await drained;
      } finally {
        await proxy.close();
      }
    });
  }

  it('closes a connection that never shows its codec after the idle allowance, not at the end of the grace', async () => {
    const proxy = await startProxy(routes(), clusters);
    try {
      const client = await connect(proxy.port);
      const done = collect(client);
      await until(() => proxy.handler.activeConnections() === 1);
      // A 10-minute grace: only the one-second idle allowance can end the drain within the test's timeout.
      await proxy.handler.drain(600_000);
      expect(await done).to.equal('');
    } finally {
      await proxy.close();
    }
  });

  it('sends GOAWAY on HTTP/2 and lets open streams finish', async () => {
    const proxy = await startProxy(routes(), clusters);
    try {
      const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
      const goaway = once(session, 'goaway');
      const arrived = heldRequest();
      const stream = session.request({ ':path': '/slow', ':authority': 'a' });
      stream.end();
      await arrived;
      const drained = proxy.handler.drain(5000);
      await goaway;
      held.pop()?.end('h2 done');
      const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
      let body = '';
      stream.setEncoding('utf8');
      for await (const chunk of stream) body += chunk;
      expect(headers[':status']).to.equal(200);
      expect(body).to.equal('h2 done');
      session.close();
      await drained;
    } finally {
      await proxy.close();
    }
  });

  it('destroys what is still open when the grace period ends', async () => {
    const proxy = await startProxy(routes(), clusters);
    try {
      const socket = await connect(proxy.port);
      const closed = collect(socket);
      const arrived = heldRequest();
      socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
      await arrived;
      await proxy.handler.drain(50);
      expect(await closed).to.equal('');
      expect(proxy.handler.activeConnections()).to.equal(0);
    } finally {
      held.pop()?.end();
      await proxy.close();
    }
  });

  it('closes the pool of a removed host only after its in-flight request', async () => {
    const removable = await startHttpUpstream((_req, res) => {
      held.push(res);
      onHeld?.();
    });
    const c = clusters.add('removable', [removable.port]);
    const proxy = await startProxy(routeConfig([vhost('v', ['*'], [route({ cluster: 'removable' })])]), clusters);
    try {
      const arrived = heldRequest();
      const pending = send(proxy.port, '/x');
      await arrived;
      const upstreamClosed = once(removable.server, 'close');
      clusters.removeHosts('removable', [removable.port]);
      held.pop()?.end('still delivered');
      const res = await pending;
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('still delivered');
      // The retired pool closes its keep-alive connection, so the upstream can shut down without forcing it.
      removable.server.close();
      await upstreamClosed;
      expect(c.hostList).to.have.length(0);
    } finally {
      await proxy.close();
      await removable.close().catch(() => undefined);
    }
  });
});
