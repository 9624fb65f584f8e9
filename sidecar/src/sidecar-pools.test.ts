// The sidecar's upstream connection pools are shared by its HTTP listeners: a listener change (LDS) keeps the warm
// upstream connections, as Envoy's cluster manager does, instead of dropping them with the old connection manager.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import { ConfigRelay } from './config/config-relay.ts';
import type { SidecarConfig } from './config/model.ts';
import { routeConfig, route as routeSpec, vhost } from './http/test-config.ts';
import { httpListener } from './listeners/fixtures.ts';
import { Sidecar, type SidecarConfigSource } from './sidecar.ts';
import { edsCluster, loadAssignment, sidecarConfig } from './upstream/fixtures.ts';

class ReadySource extends ConfigRelay implements SidecarConfigSource {
  start(): void {}
  async stop(): Promise<void> {}
  ready(): Promise<void> {
    return Promise.resolve();
  }
  dump(): unknown {
    return {};
  }
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'app' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

describe('Sidecar upstream pools', () => {
  let upstream: http.Server;
  let sidecar: Sidecar | undefined;

  before(async () => {
    // Answers with the port of the connection the request came in on: the same port, the same connection.
    upstream = http.createServer((req, res) => res.end(String(req.socket.remotePort)));
    upstream.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await sidecar?.stop(0);
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it('a listener change keeps the warm upstream connection', async () => {
    const source = new ReadySource();
    sidecar = new Sidecar({ source, logger: pino({ level: 'silent' }), admin: { address: '127.0.0.1', port: 0 } });
    await sidecar.start();
    const port = (upstream.address() as AddressInfo).port;
    const config = (version: string): SidecarConfig => {
      const base = sidecarConfig({
        listeners: [httpListener('in', 0, 'rc', version)],
        clusters: [edsCluster('app')],
        endpoints: [loadAssignment('app', `127.0.0.1:${port}`)],
      });
      return {
        ...base,
        routes: new Map([['rc', routeConfig([vhost('v', ['*'], [routeSpec({ prefix: '/', cluster: 'app' })])])]]),
      };
    };
    source.set(config('1'));
    const listenerPort = async (version: string): Promise<number> => {
      for (;;) {
        const l = sidecar?.listenerStatus().find((s) => s.name === 'in');
        if (l?.boundPort !== undefined && l.version === version && l.state === 'bound') return l.boundPort;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const first = await get(await listenerPort('1'));
    // A new version of the listener: a new connection manager behind the same socket.
    source.set(config('2'));
    const second = await get(await listenerPort('2'));
    expect(second).to.equal(first);
  });
});
