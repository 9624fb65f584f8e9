// End to end: a real sidecar fed xDS by hand runs config regexes in linear time (a route with ^/(a|a)*$ answers a
// long path promptly while other requests are served) and NACKs a regex RE2 refuses, keeping the last good config.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import { freePort } from '../bench/lib/ports.ts';
import { Snapshot } from '../control-plane/src/cache/snapshot.ts';
import { SnapshotCache } from '../control-plane/src/cache/snapshot-cache.ts';
import type { TranslatedResources } from '../control-plane/src/cache/translated-resources.ts';
import { XdsServer } from '../control-plane/src/xds/server.ts';
import { edsCluster, hcm, loadAssignment, socketListener } from '../sidecar/src/config/envoy-fixtures.ts';
import { eventually } from './helpers/eventually.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

type Obj = Record<string, unknown>;

/** An HTTP/1.1 GET to the sidecar's listener: status and body. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path.slice(0, 40)}… timed out`)));
    req.on('error', reject);
  });
}

/** Listener → route configuration `routes` → cluster `app` → the app on 127.0.0.1. */
function config(listenerPort: number, appPort: number, routes: Obj[]): Partial<TranslatedResources> {
  return {
    listener: [
      socketListener('outbound', hcm('routes'), {
        address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } },
      }),
    ],
    route: [{ name: 'routes', virtual_hosts: [{ name: 'vh', domains: ['*'], routes }] }],
    cluster: [edsCluster('app')],
    endpoint: [loadAssignment('app', `127.0.0.1:${appPort}`)],
  };
}

const regexRoute = (regex: string): Obj => ({ match: { safe_regex: { regex } }, route: { cluster: 'app' } });
const fallback: Obj = { match: { prefix: '/' }, direct_response: { status: 404, body: { inline_string: 'no' } } };

describe('sidecar: regexes from config', function () {
  this.timeout(60_000);
  const cache = new SnapshotCache({ groupOf: () => 'g' });
  const server = new XdsServer({ cache, logger: pino({ level: 'silent' }) });
  const app = http.createServer((req, res) => res.end(`app saw ${req.url?.length ?? 0} characters`));
  let sidecar: SidecarProcess;
  let listenerPort: number;
  let appPort: number;

  before(async () => {
    const xds = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appPort = (app.address() as AddressInfo).port;
    listenerPort = await freePort();
    cache.setSnapshot(
      'g',
      Snapshot.fromObjects('1', config(listenerPort, appPort, [regexRoute('^/(a|a)*$'), fallback])),
    );
    sidecar = await startSidecar({ service: 'regex', xds });
    await eventually(async () => expect((await get(listenerPort, '/a')).status).to.equal(200), 100);
  });

  after(async () => {
    await sidecar?.stop();
    await server.close(100);
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
  });

  it('answers a path that a backtracking ^/(a|a)*$ would take longer than the universe on, while serving others', async () => {
    // 31 characters stalled the old sidecar ~10 s, and each 2 more multiplied that by 3.8.
    const long = `/${'a'.repeat(8_000)}`;
    const started = performance.now();
    const [matched, unmatched, ...others] = await Promise.all([
      get(listenerPort, long),
      get(listenerPort, `${long}!`),
      ...Array.from({ length: 20 }, (_, i) => get(listenerPort, `/${'a'.repeat(i)}`)),
    ]);
    expect(performance.now() - started).to.be.below(5_000);
    expect(matched).to.deep.equal({ status: 200, body: 'app saw 8001 characters' });
    expect(unmatched).to.deep.equal({ status: 404, body: 'no' });
    expect(others.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
  });

  it('NACKs a route configuration with a regex RE2 refuses, naming the field, and keeps serving the last good one', async () => {
    cache.setSnapshot('g', Snapshot.fromObjects('2', config(listenerPort, appPort, [regexRoute('^/(?=a)'), fallback])));
    const rds = () => server.list()[0]?.types.find((t) => t.typeUrl.endsWith('RouteConfiguration'));
    const nack = await eventually(async () => {
      const error = rds()?.lastNack?.error;
      expect(error).to.be.a('string');
      return error;
    }, 100);
    expect(nack).to.equal(
      'route configuration routes: virtual_hosts[0].routes[0].match.safe_regex.regex: invalid RE2 regex "^/(?=a)": ' +
        'invalid or unsupported Perl syntax: `(?=` (lookahead is not supported by RE2)',
    );
    expect(rds()?.ackedVersion).to.not.equal(rds()?.lastNack?.version);
    expect(await get(listenerPort, `/${'a'.repeat(8_000)}`)).to.deep.equal({
      status: 200,
      body: 'app saw 8001 characters',
    });
    expect((await get(listenerPort, '/b')).status).to.equal(404);
  });
});
