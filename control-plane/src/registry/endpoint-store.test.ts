// Announced endpoints across a restart: saved whole with their deadlines and read back; expired, malformed or
// hand-edited entries are not restored; restored endpoints linger until their deadline (never longer, however often
// the control plane restarts) unless their owner (identity and node id) announces again.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Endpoint } from './endpoint.ts';
import { EndpointRegistry } from './endpoint-registry.ts';
import { ENDPOINTS_FILE, loadEndpoints, saveEndpoints } from './endpoint-store.ts';

const ep = (source: string, address: string, identity = 'spiffe://mesh/ns/default/sa/orders'): Endpoint => ({
  service: 'orders',
  address,
  port: 15006,
  labels: { version: 'v1' },
  weight: 2,
  zone: 'a',
  source,
  tls: true,
  identity,
});

describe('endpoint store (restarts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-endpoints-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves and loads endpoints with their deadlines (file 0600); expired ones are not restored', () => {
    const entries = [
      { ep: ep('n1', '10.0.0.1'), until: 2_000 },
      { ep: ep('n2', '10.0.0.2'), until: 5_000 },
    ];
    saveEndpoints(dir, entries, 1_000);
    expect(statSync(path.join(dir, ENDPOINTS_FILE)).mode & 0o777).to.equal(0o600);
    expect(loadEndpoints(dir, 1_000)).to.deep.equal({ endpoints: entries });
    expect(loadEndpoints(dir, 3_000)).to.deep.equal({ endpoints: [entries[1]] });
    expect(loadEndpoints(path.join(dir, 'none'))).to.deep.equal({ endpoints: [] });
  });

  it('skips entries that are not endpoints, and reports a file that is not JSON', () => {
    const file = path.join(dir, ENDPOINTS_FILE);
    saveEndpoints(dir, []);
    const until = Date.now() + 60_000;
    const bad = [
      { ...ep('n1', 'not-an-ip'), until },
      { ...ep('n2', '10.0.0.2'), weight: 500, until },
      { ...ep('static', '10.0.0.3'), until },
      { ...ep('n4', '10.0.0.4'), labels: { a: 1 }, until },
      { ...ep('n6', '10.0.0.6') },
      { ...ep('n5', '10.0.0.5'), until },
    ];
    writeFileSync(file, JSON.stringify({ savedAt: Date.now(), endpoints: bad }));
    expect(loadEndpoints(dir)).to.deep.equal({ endpoints: [{ ep: ep('n5', '10.0.0.5'), until }] });
    writeFileSync(file, '{"savedAt":');
    expect(loadEndpoints(dir))
      .to.have.property('error')
      .that.matches(/endpoints\.json: /);
  });

  it('restores as lingering: kept until the owner announces again, never past the deadline it had', async () => {
    const r = new EndpointRegistry({ graceMs: 10_000 });
    r.announce('s1', ep('n1', '10.0.0.1'));
    const now = Date.now();
    r.restore(
      [
        { ep: ep('n1', '10.0.0.9'), until: now + 10_000 },
        { ep: ep('n2', '10.0.0.2'), until: now + 40 },
        { ep: ep('n3', '10.0.0.3'), until: now - 1 },
      ],
      now,
    );
    // n1 is connected: what it announces now wins; n2 lingers for what was left of its grace (40 ms); n3 had expired.
    expect(
      r
        .endpoints()
        .get('orders')
        ?.map((e) => `${e.address}@${e.source}`),
    ).to.deep.equal(['10.0.0.1@n1', '10.0.0.2@n2']);
    await new Promise((resolve) => r.onChange(() => resolve(undefined)));
    expect(
      r
        .endpoints()
        .get('orders')
        ?.map((e) => e.source),
    ).to.deep.equal(['n1']);
    r.close();
  });

  it("another identity reusing a node id neither replaces that node's lingering endpoint nor keeps it from lingering", () => {
    const r = new EndpointRegistry({ graceMs: 10_000 });
    r.announce('s1', ep('web-1', '10.0.0.1', 'spiffe://mesh/ns/default/sa/web'));
    r.withdraw('s1');
    // A certificate of another service connects with web-1's node id: web-1's endpoint keeps lingering.
    r.announce('s2', ep('web-1', '10.0.0.7', 'spiffe://mesh/ns/default/sa/intruder'));
    expect(
      r
        .announced()
        .map((a) => a.ep.address)
        .sort(),
    ).to.deep.equal(['10.0.0.1', '10.0.0.7']);
    // The real web-1 comes back (same identity): its lingering claim is replaced by the live one.
    r.announce('s3', ep('web-1', '10.0.0.1', 'spiffe://mesh/ns/default/sa/web'));
    expect(r.announced().filter((a) => a.ep.address === '10.0.0.1')).to.have.length(1);
    r.close();
  });
});
