// The HTTP/1.1 upstream pool: a connection goes back to the pool ready to read, whatever its last call did.
import net from 'node:net';
import { expect } from 'chai';
import { listen } from '../test-harness.ts';
import { poolGet, testPool } from './test-pool.ts';

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
    const pool = testPool(port, { maxConnections: 1 });
    try {
      // The first call stops reading (a client that went slow or away) and its response ends in the same read.
      expect(await poolGet(pool, '/', false)).to.equal('end');
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<string>((resolve) => {
        timer = setTimeout(resolve, 3000, 'stalled');
      });
      expect(await Promise.race([poolGet(pool, '/'), stalled])).to.equal('end');
      clearTimeout(timer);
      expect(accepted).to.have.length(1);
    } finally {
      pool.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
