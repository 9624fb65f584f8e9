// Request bodies are read before anything upstream is held: slow uploads cannot take the cluster's breaker slots,
// a stalled body gets 408, and the process-wide buffer budget is given back however a request ends.
import { once } from 'node:events';
import net from 'node:net';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { BufferBudget, bufferBody, requestBufferBudget } from './message/replayable-body.ts';
import {
  echoHandler,
  type ProxyUnderTest,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  until,
  vhost,
} from './test-harness.ts';

/** Opens a connection that sends a POST head announcing `length` bytes and then only `sent` of them. */
async function slowUpload(port: number, length: number, sent: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(`POST /upload HTTP/1.1\r\nhost: web\r\ncontent-length: ${length}\r\n\r\n${'x'.repeat(sent)}`);
  return socket;
}

describe('http handler: request body buffering', () => {
  let web: Awaited<ReturnType<typeof startHttpUpstream>>;
  let proxy: ProxyUnderTest;
  const clusters = new TestClusters();

  before(async () => {
    web = await startHttpUpstream(echoHandler('web'));
    clusters.add('web', [web.port], {
      circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 2, maxRetries: 3 },
    });
    proxy = await startProxy(routeConfig([vhost('v', ['*'], [route({ cluster: 'web' })])]), clusters, {
      streamIdleTimeoutMs: 300,
    });
  });

  after(async () => {
    await proxy.close();
    await web.close();
  });

  it('slow uploads hold no breaker slot: legitimate requests keep being served', async () => {
    const slow = await Promise.all([1, 2, 3, 4, 5].map(() => slowUpload(proxy.port, 1000, 10)));
    await until(() => proxy.stats.gaugeValue('http.test.downstream_rq_active') === 5);
    const cluster = clusters.clusters.get('web');
    expect(cluster?.activeRequests).to.equal(0);
    const ok = await send(proxy.port, '/legit', { method: 'POST', body: 'hello' });
    expect(ok.status).to.equal(200);
    expect(JSON.parse(ok.body).body).to.equal('hello');
    for (const s of slow) s.destroy();
    await until(() => proxy.stats.gaugeValue('http.test.downstream_rq_active') === 0);
    expect(requestBufferBudget.used).to.equal(0);
  });

  it('a slow upload declaring more than the buffer holds no slot either until it sent that much', async () => {
    const slow = await Promise.all([1, 2, 3].map(() => slowUpload(proxy.port, 2 * 1024 * 1024, 10)));
    await until(() => proxy.stats.gaugeValue('http.test.downstream_rq_active') === 3);
    expect(clusters.clusters.get('web')?.activeRequests).to.equal(0);
    expect((await send(proxy.port, '/legit')).status).to.equal(200);
    for (const s of slow) s.destroy();
    await until(() => proxy.stats.gaugeValue('http.test.downstream_rq_active') === 0);
    expect(requestBufferBudget.used).to.equal(0);
  });

  it('answers 408 to a body that stops arriving (stream idle timeout), and gives its buffer back', async () => {
    const socket = await slowUpload(proxy.port, 1000, 10);
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      got += d;
    });
    await until(() => got.includes('\r\n\r\n'));
    expect(got).to.match(/^HTTP\/1\.1 408 /);
    socket.destroy();
    await until(() => proxy.stats.gaugeValue('http.test.downstream_rq_active') === 0);
    expect(requestBufferBudget.used).to.equal(0);
  });

  it('streams a body larger than the buffer (the upstream sees all of it)', async () => {
    const big = 'b'.repeat(2 * 1024 * 1024);
    const res = await send(proxy.port, '/big', { method: 'POST', body: big });
    expect(res.status).to.equal(200);
    expect(JSON.parse(res.body).body).to.have.length(big.length);
    expect(requestBufferBudget.used).to.equal(0);
  });
});

describe("http handler: the listener's per_connection_buffer_limit_bytes", () => {
  it('bounds the body read before routing: past it the request goes upstream and the rest streams', async () => {
    let seenAt = -1;
    let received = 0;
    const web = await startHttpUpstream((req, res) => {
      seenAt = received;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const clusters = new TestClusters();
    clusters.add('web', [web.port]);
    const proxy = await startProxy(
      routeConfig([vhost('v', ['*'], [route({ cluster: 'web' })])]),
      clusters,
      {},
      undefined,
      { bufferLimitBytes: 16 },
    );
    try {
      const socket = await slowUpload(proxy.port, 64, 20);
      received = 20;
      // 20 bytes sent, past the 16-byte limit: the app sees the request before the rest of the body.
      await until(() => seenAt >= 0);
      expect(seenAt).to.equal(20);
      socket.write('x'.repeat(44));
      let got = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => {
        got += d;
      });
      await until(() => got.includes('ok'));
      expect(got).to.match(/^HTTP\/1\.1 200 /);
      socket.destroy();
    } finally {
      await proxy.close();
      await web.close();
    }
  });
});

describe('http handler: request_timeout', () => {
  let web: Awaited<ReturnType<typeof startHttpUpstream>>;
  let proxy: ProxyUnderTest;

  before(async () => {
    web = await startHttpUpstream(echoHandler('web'));
    const clusters = new TestClusters();
    clusters.add('web', [web.port]);
    proxy = await startProxy(routeConfig([vhost('v', ['*'], [route({ cluster: 'web' })])]), clusters, {
      requestTimeoutMs: 200,
    });
  });

  after(async () => {
    await proxy.close();
    await web.close();
  });

  it('answers 408 to a body trickled slower than the whole-request timeout allows (activity does not extend it)', async () => {
    const socket = await slowUpload(proxy.port, 1000, 1);
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      got += d;
    });
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('x');
    }, 20);
    await until(() => got.includes('\r\n\r\n'));
    clearInterval(trickle);
    socket.destroy();
    expect(got).to.match(/^HTTP\/1\.1 408 /);
    expect(proxy.stats.counter('http.test.downstream_rq_timeout')).to.equal(1);
    await until(() => proxy.stats.gaugeValue('http.test.downstream_rq_active') === 0);
  });

  it('leaves a request whose body arrives in time alone', async () => {
    const res = await send(proxy.port, '/fast', { method: 'POST', body: 'quick' });
    expect(res.status).to.equal(200);
    expect(JSON.parse(res.body).body).to.equal('quick');
  });
});

describe('bufferBody', () => {
  it('streams instead of buffering once the budget is spent, and gives back what it took', async () => {
    const budget = new BufferBudget(8);
    const result = await new Promise<string>((resolve) =>
      bufferBody(
        Readable.from([Buffer.alloc(6, 97), Buffer.alloc(6, 98)]),
        undefined,
        (b) => {
          if (b.replayable) return resolve('replayable');
          const chunks: Buffer[] = [];
          b.stream.on('data', (c: Buffer) => chunks.push(c));
          b.stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
        },
        1024,
        budget,
      ),
    );
    expect(result).to.equal('aaaaaabbbbbb');
    expect(budget.used).to.equal(0);
  });

  it('holds a whole small body against the budget; cancel gives back a partial read', async () => {
    const budget = new BufferBudget(1024);
    const held = await new Promise<number>((resolve) =>
      bufferBody(
        Readable.from([Buffer.from('abc')]),
        undefined,
        (b) => resolve(b.replayable ? b.held : -1),
        1024,
        budget,
      ),
    );
    expect(held).to.equal(3);
    expect(budget.used).to.equal(3);
    budget.give(held);
    const stalled = new Readable({ read() {} });
    const cancel = bufferBody(stalled, undefined, () => expect.fail('never done'), 1024, budget);
    stalled.push(Buffer.from('12345'));
    await until(() => budget.used === 5);
    cancel();
    expect(budget.used).to.equal(0);
  });
});
