// HTTP/1.1 connection idle timeouts (watched by the shared connection sweeper): downstream keep-alive and partial
// heads, upstream pooled connections; busy connections are left alone.
import { once } from 'node:events';
import net, { type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { HTTP_LIMIT_DEFAULTS } from '../config/decode-http-limits.ts';
import type { HttpLimits } from '../config/model.ts';
import { poolGet, testPool } from './pool/test-pool.ts';
import {
  listen,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from './test-harness.ts';

/** Connects to the port; resolves with everything read once the server closes the connection. */
function connectAndCollect(port: number, write: string): { socket: Socket; closed: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  let got = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    got += d;
  });
  socket.on('error', () => undefined);
  if (write !== '') socket.write(write);
  const closed = once(socket, 'close').then(() => got);
  return { socket, closed };
}

/** HCM limits with a short keep-alive idle timeout and head deadline. */
function idle(ms: number): { limits: HttpLimits } {
  return { limits: { ...HTTP_LIMIT_DEFAULTS, idleTimeoutMs: ms, requestHeadersTimeoutMs: ms } };
}

describe('connection idle timeouts', () => {
  const clusters = new TestClusters();
  let upstream: Awaited<ReturnType<typeof startHttpUpstream>>;

  before(async () => {
    upstream = await startHttpUpstream((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('slow'), 250);
      else res.end('ok');
    });
    clusters.add('up', [upstream.port]);
  });

  after(async () => {
    await upstream.close();
  });

  const routes = routeConfig([vhost('all', ['*'], [route({ prefix: '/', cluster: 'up' })])]);

  it('closes an idle downstream keep-alive connection after the timeout, not before', async () => {
    const proxy = await startProxy(routes, clusters, idle(120));
    try {
      const { socket, closed } = connectAndCollect(proxy.port, 'GET /a HTTP/1.1\r\nhost: up\r\n\r\n');
      // Idle time counts from the response (the last activity).
      let answeredAt = 0;
      socket.once('data', () => {
        answeredAt = performance.now();
      });
      const got = await closed;
      expect(got).to.match(/^HTTP\/1\.1 200 /);
      expect(performance.now() - answeredAt).to.be.at.least(100);
    } finally {
      await proxy.close();
    }
  });

  it('answers 408 to a head that stops arriving', async () => {
    const proxy = await startProxy(routes, clusters, idle(100));
    try {
      const { closed } = connectAndCollect(proxy.port, 'GET /a HTTP/1.1\r\nhost: u');
      expect(await closed).to.match(/^HTTP\/1\.1 408 /);
    } finally {
      await proxy.close();
    }
  });

  it('keeps a connection whose request outlasts the idle timeout (the exchange is in charge)', async () => {
    const proxy = await startProxy(routes, clusters, idle(100));
    try {
      const started = performance.now();
      const { closed } = connectAndCollect(proxy.port, 'GET /slow HTTP/1.1\r\nhost: up\r\n\r\n');
      // The upstream answers after 250 ms; the connection then idles out 100-150 ms later.
      const got = await closed;
      expect(got).to.match(/^HTTP\/1\.1 200 [\s\S]*slow$/);
      expect(performance.now() - started).to.be.at.least(250 + 100);
    } finally {
      await proxy.close();
    }
  });

  /**
   * Sends `request` to a proxy with a 100 ms idle timeout from a client that never ends its side; resolves with what
   * the client read up to our FIN once the proxy's own socket closed (seen from a listener in front of the handler).
   */
  async function halfOpenClient(request: string): Promise<string> {
    const proxy = await startProxy(routes, clusters, idle(100));
    let serverClosed: Promise<unknown> | undefined;
    const front = net.createServer({ allowHalfOpen: true }, (s) => {
      serverClosed = once(s, 'close');
      proxy.handler.handle(s);
    });
    try {
      const port = await listen(front);
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      socket.on('error', () => undefined);
      let got = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => {
        got += d;
      });
      socket.write(request);
      await once(socket, 'end');
      await serverClosed;
      socket.destroy();
      return got;
    } finally {
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await proxy.close();
    }
  }

  it('lets go of a connection the client keeps half-open after we ended it', async () => {
    const got = await halfOpenClient('GET /a HTTP/1.1\r\nhost: up\r\nconnection: close\r\n\r\n');
    expect(got).to.match(/^HTTP\/1\.1 200 /);
  });

  it('lets go of a client that keeps its side open after a 408', async () => {
    expect(await halfOpenClient('GET /a HTTP/1.1\r\nhost: u')).to.match(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection whose upload stalls after an early answer', async () => {
    const early = await startHttpUpstream((_req, res) => {
      res.end('early');
    });
    const earlyClusters = new TestClusters();
    earlyClusters.add('early', [early.port]);
    const proxy = await startProxy(
      routeConfig([vhost('all', ['*'], [route({ prefix: '/', cluster: 'early' })])]),
      earlyClusters,
      idle(100),
    );
    try {
      // 2,000,000 bytes announced, 1 MiB + 10 sent (past what is read before routing: the request goes upstream and
      // the rest streams): the answer comes first, then the rest of the body never does.
      const { socket, closed } = connectAndCollect(
        proxy.port,
        `POST /up HTTP/1.1\r\nhost: early\r\ncontent-length: 2000000\r\n\r\n${'x'.repeat(1024 * 1024 + 10)}`,
      );
      const got = await closed;
      expect(got).to.match(/^HTTP\/1\.1 200 [\s\S]*early$/);
      expect(socket.destroyed).to.equal(true);
    } finally {
      await proxy.close();
      await early.close();
    }
  });

  it('closes an idle pooled upstream connection, and not one that carries a request', async () => {
    const accepted: Socket[] = [];
    const server: Server = net.createServer((s) => {
      accepted.push(s);
      s.on('error', () => undefined);
      s.on('data', (d) => {
        const slow = d.toString('latin1').startsWith('GET /slow');
        setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), slow ? 250 : 0);
      });
    });
    const port = await listen(server);
    let disconnected: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => {
      disconnected = resolve;
    });
    const pool = testPool(port, { idleTimeoutMs: 80, onDisconnect: () => disconnected() });
    const call = (path: string): Promise<string> => poolGet(pool, path);
    try {
      // A request slower than the idle timeout completes on its connection.
      expect(await call('/slow')).to.equal('end');
      expect(pool.size).to.equal(1);
      expect(accepted.length).to.equal(1);
      const started = performance.now();
      await gone;
      expect(performance.now() - started).to.be.at.least(60);
      expect(pool.size).to.equal(0);
    } finally {
      pool.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("closes pooled upstream connections after the cluster's idle_timeout (HttpProtocolOptions), not the 4 s default", async () => {
    const closed: Promise<unknown>[] = [];
    const server: Server = net.createServer((s) => {
      closed.push(once(s, 'close'));
      s.on('error', () => undefined);
      s.on('data', () => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    });
    const port = await listen(server);
    const idleClusters = new TestClusters();
    idleClusters.add('idle', [port], { idleTimeoutMs: 150 });
    const proxy = await startProxy(
      routeConfig([vhost('all', ['*'], [route({ prefix: '/', cluster: 'idle' })])]),
      idleClusters,
    );
    try {
      const res = await send(proxy.port, '/');
      expect(res.status).to.equal(200);
      const answered = performance.now();
      await closed[0];
      const idle = performance.now() - answered;
      expect(idle).to.be.at.least(100);
      expect(idle).to.be.below(3000);
    } finally {
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
