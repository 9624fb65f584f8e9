// Connection byte counters never go down: node's bytesWritten counts queued bytes that a destroy drops.
import { once } from 'node:events';
import net, { type Socket } from 'node:net';
import { expect } from 'chai';
import { Stats } from '../common/stats.ts';
import { countUpstreamBytes } from './connection-bytes.ts';

describe('upstream connection bytes', () => {
  it('stay monotonic when a socket with queued bytes is destroyed', async () => {
    const accepted: Socket[] = [];
    // A peer that never reads: what we write stays queued in our socket.
    const server = net.createServer({ pauseOnConnect: true }, (s) => accepted.push(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      const stats = new Stats();
      countUpstreamBytes(stats, 'c', socket);
      const chunk = Buffer.alloc(1 << 20);
      for (let i = 0; i < 16; i++) socket.write(chunk);
      const name = 'cluster.c.upstream_cx_tx_bytes_total';
      const before = stats.counter(name);
      expect(before).to.be.greaterThan(0);
      expect(socket.writableLength).to.be.greaterThan(0);
      socket.destroy();
      await once(socket, 'close');
      expect(stats.counter(name)).to.be.at.least(before);
    } finally {
      socket.destroy();
      for (const s of accepted) s.destroy();
      server.close();
    }
  });
});
