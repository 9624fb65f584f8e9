// Hostile input: ReDoS-shaped regexes from configuration (route path, header matcher, regex rewrite) and paths built to
// make a backtracking engine explode, beside a legitimate load: every regex runs in linear time, nothing stalls.
import http from 'node:http';
import { expect } from 'chai';
import { repeatFor, underAttack } from './attack.ts';
import { type HostileMesh, startHostileMesh, until } from './hostile-mesh.ts';

const HOST = 'web:8080';

/** Rule 1: a nested alternation on the path; rule 2: the same on a header; rule 3: a regex rewrite of every path. */
const REDOS_ROUTE = `apiVersion: trellis.dev/v1
kind: Route
metadata: { name: web }
spec:
  hosts: [web]
  http:
    - match: [{ pathRegex: "^/(a|a)*$" }]
      route: [{ service: web }]
    - match: [{ pathPrefix: /, headers: { x-redos: { regex: "(a|a)*$" } } }]
      route: [{ service: web }]
    - match: [{ pathPrefix: / }]
      rewrite: { regex: { pattern: "(a|a)*c", substitution: "x" } }
      route: [{ service: web }]
`;

/** One request from the attacker's side; resolves with status and latency. */
function timedGet(port: number, path: string, headers: Record<string, string> = {}): Promise<[number, number]> {
  const start = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, headers: { host: HOST, ...headers }, agent: false, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve([res.statusCode ?? 0, performance.now() - start]));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve([0, performance.now() - start]));
    req.end();
  });
}

describe('hostile: ReDoS paths against regexes from configuration', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;

  before(async () => {
    mesh = await startHostileMesh(REDOS_ROUTE);
    // Converged once the rewrite rule applies: /bc becomes /bx.
    await until(async () => {
      await timedGet(mesh.client.outboundPort, '/bc');
      return mesh.web.paths.includes('/bx');
    }, 'the ReDoS-shaped route reached the client sidecar');
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
  });

  for (const length of [31, 1_000, 7_000]) {
    it(`paths and headers of ${length} "a"s and a "!" are matched and rewritten in linear time`, async () => {
      const port = mesh.client.outboundPort;
      const evil = `${'a'.repeat(length)}!`;
      const results: [number, number][] = [];
      await underAttack(mesh, { name: `ReDoS ^/(a|a)*$, ${length}-character path`, target: mesh.client }, async () => {
        await repeatFor(1_500, { parallel: 2, minCount: 10, maxCount: 200 }, async (i) => {
          // Rule 1 fails on the "!", rule 2 gets the header, rule 3 rewrites the path: all three regexes run.
          results.push(await timedGet(port, `/${evil}?n=${i}`, { 'x-redos': evil }));
        });
      });
      const slowest = Math.max(...results.map((r) => r[1]));
      for (const [status] of results) expect(status).to.equal(200);
      expect(slowest, 'the slowest attack request (ms)').to.be.below(1_000);
    });
  }
});
