// HTTP filters hold tunnels' opening requests too: a WebSocket upgrade and a CONNECT without the token a
// TypeScript filter asks for are answered 401 before any upstream sees them; with it, they go on.
import net from 'node:net';
import { expect } from 'chai';
import { type HttpFilterConfig, TYPESCRIPT_FILTER_TYPE } from '../config/model.ts';
import { rawExchange, route } from '../http/test-harness.ts';
import { filterBench } from './test-filter-proxy.ts';

const GUARD: HttpFilterConfig = {
  name: 'guard',
  typeName: TYPESCRIPT_FILTER_TYPE,
  config: {
    name: 'guard',
    source: `export default { onRequest(req: FilterRequest) {
      if (req.header('x-token') !== 'let-me-in') return { status: 401, body: 'token required' };
    } };`,
    config: null,
    timeoutMs: 50,
  },
};

const headEnd = (received: string) => received.includes('\r\n\r\n');

describe('HTTP filters on tunnels (WebSocket upgrades, CONNECT)', () => {
  const bench = filterBench();
  let tcp: net.Server | undefined;
  let tcpPort = 0;
  before(async () => {
    // A TCP upstream for CONNECT that greets whoever connects.
    tcp = net.createServer((s) => s.end('hello from tcp'));
    await new Promise<void>((resolve) => tcp?.listen(0, '127.0.0.1', resolve));
    tcpPort = (tcp.address() as net.AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => tcp?.close(() => resolve()));
  });

  it('a WebSocket upgrade without the token is refused by the filter; with it, it reaches the app', async () => {
    const p = await bench.proxy([GUARD], [route({ prefix: '/', cluster: 'app', upgrades: ['websocket'] })]);
    const upgrade = (token: string) =>
      `GET /ws HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${token}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    const before = bench.hits;
    const refused = await rawExchange(p.port, upgrade(''), headEnd);
    expect(refused).to.match(/^HTTP\/1\.1 401 /);
    expect(bench.hits).to.equal(before);
    // With the token the upgrade goes upstream (the app does not speak WebSocket: what it answers is not a 401).
    const passed = await rawExchange(p.port, upgrade('x-token: let-me-in\r\n'), headEnd);
    expect(passed).to.not.match(/^HTTP\/1\.1 401 /);
  });

  it('a CONNECT without the token is refused by the filter; with it, the tunnel opens', async () => {
    const p = await bench.proxy([GUARD], [route({ connect: true, cluster: 'tcp', upgrades: ['CONNECT'] })], {
      upgrades: ['CONNECT'],
    });
    bench.clusters.add('tcp', [tcpPort]);
    const connect = (token: string) => `CONNECT db.local:5432 HTTP/1.1\r\nHost: db.local:5432\r\n${token}\r\n`;
    const refused = await rawExchange(p.port, connect(''), headEnd);
    expect(refused).to.match(/^HTTP\/1\.1 401 /);
    const opened = await rawExchange(p.port, connect('x-token: let-me-in\r\n'), (r) => r.includes('hello from tcp'));
    expect(opened).to.match(/^HTTP\/1\.1 200 /);
    expect(opened).to.include('hello from tcp');
  });
});
