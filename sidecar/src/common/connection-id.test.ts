// Downstream connection ids and addresses: one id per connection (shared counter with TCP), stable per socket, the
// same for every HTTP/2 stream of a session (through node's socket proxy), ip:port of both ends.
import { once } from 'node:events';
import http2 from 'node:http2';
import net, { type Socket } from 'node:net';
import { expect } from 'chai';
import { connectionIdOf, downstreamAddresses, newConnectionId } from './connection-id.ts';

describe('downstream connection ids and addresses', () => {
  it('gives each accepted socket its own id, the same one every time, from the shared counter', async () => {
    const accepted: Socket[] = [];
    const server = net.createServer((s) => accepted.push(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const clients = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    try {
      await Promise.all(clients.map((c) => once(c, 'connect')));
      while (accepted.length < 2) await once(server, 'connection');
      const [a, b] = accepted as [Socket, Socket];
      const idA = connectionIdOf(a);
      const tcpId = newConnectionId();
      const idB = connectionIdOf(b);
      expect(connectionIdOf(a)).to.equal(idA);
      expect(new Set([idA, tcpId, idB]).size).to.equal(3);
      expect(idB).to.be.greaterThan(tcpId);
      const client = clients.find((c) => c.localPort === a.remotePort) as Socket;
      expect(downstreamAddresses(a)).to.deep.equal({
        remote: `127.0.0.1:${client.localPort}`,
        local: `127.0.0.1:${port}`,
      });
    } finally {
      for (const c of clients) c.destroy();
      for (const s of accepted) s.destroy();
      server.close();
    }
  });

  it('HTTP/2: every stream of a session has the session connection id; another session has another', async () => {
    const seen: { id: number; remote: string | undefined }[] = [];
    const server = http2.createServer((req, res) => {
      const socket = req.socket as Socket;
      seen.push({ id: connectionIdOf(socket), remote: downstreamAddresses(socket).remote });
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const get = async (session: http2.ClientHttp2Session): Promise<void> => {
      const req = session.request({ ':path': '/' });
      req.resume();
      await once(req, 'end');
    };
    const one = http2.connect(`http://127.0.0.1:${port}`);
    const two = http2.connect(`http://127.0.0.1:${port}`);
    try {
      await get(one);
      await get(one);
      await get(two);
      const [first, second, third] = seen as [(typeof seen)[0], (typeof seen)[0], (typeof seen)[0]];
      expect(second.id).to.equal(first.id);
      expect(third.id).to.not.equal(first.id);
      expect(first.remote).to.match(/^127\.0\.0\.1:\d+$/);
      expect(third.remote).to.not.equal(first.remote);
    } finally {
      one.close();
      two.close();
      server.close();
    }
  });
});
