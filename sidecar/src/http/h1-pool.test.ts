// The HTTP/1.1 upstream pool: a connection goes back to the pool ready to read, whatever its last call did.
import net from 'node:net';
import { expect } from 'chai';
import type { H1Call } from './h1-connection.ts';
import { H1Pool } from './h1-pool.ts';
import type { HeaderList } from './header-list.ts';
import { listen } from './test-harness.ts';

describe('H1Pool', () => {
  it('reuses a connection whose last call stopped reading (paused socket) and reads the next response', async () => {
    const accepted: net.Socket[] = [];
    const server = net.createServer((s) => {
      accepted.push(s);
      s.on('error', () => undefined);
      // Head, body chunk and end in one write: the call's onData (false) and the end come from one read.
      s.on('data', () => s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'));
    });
    const port = await listen(server);
    const pool = new H1Pool({
      address: '127.0.0.1',
      port,
      connectTimeoutMs: 1000,
      idleTimeoutMs: 10_000,
      maxConnections: 1,
      maxPending: 4,
      acquireConnection: () => true,
      releaseConnection: () => undefined,
      maxHeadBytes: 8192,
      onConnect: () => undefined,
      onDisconnect: () => undefined,
      onConnectFailure: () => undefined,
    });
    const call = (reading: boolean): Promise<string> =>
      new Promise((resolve) => {
        const c: H1Call = {
          method: 'GET',
          path: '/',
          authority: 'up',
          headers: [] as HeaderList,
          body: null,
          upgrade: undefined,
          connection: undefined,
          onHead: () => undefined,
          // A call whose downstream cannot take more (a slow or vanished client) stops reading.
          onData: () => reading,
          onEnd: () => resolve('end'),
          onUpgrade: () => undefined,
          onFailure: (e) => resolve(e),
        };
        pool.dispatch(c);
      });
    try {
      expect(await call(false)).to.equal('end');
      const next = call(true);
      const stalled = new Promise<string>((resolve) => setTimeout(resolve, 3000, 'stalled')).then((v) => v);
      expect(await Promise.race([next, stalled])).to.equal('end');
      expect(accepted).to.have.length(1);
    } finally {
      pool.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
