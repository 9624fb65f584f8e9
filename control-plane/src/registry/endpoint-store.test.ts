// Announced endpoints across a restart: saved whole and read back; old, malformed or hand-edited entries are not
// restored; restored endpoints linger until their node announces again or the grace period ends.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Endpoint } from './endpoint.ts';
import { EndpointRegistry } from './endpoint-registry.ts';
import { ENDPOINTS_FILE, loadEndpoints, MAX_RESTORE_AGE_MS, saveEndpoints } from './endpoint-store.ts';

const ep = (source: string, address: string): Endpoint => ({
  service: 'orders',
  address,
  port: 15006,
  labels: { version: 'v1' },
  weight: 2,
  zone: 'a',
  source,
  tls: true,
});

describe('endpoint store (restarts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-endpoints-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves and loads the endpoints (file 0600); too old a file restores nothing', () => {
    saveEndpoints(dir, [ep('n1', '10.0.0.1'), ep('n2', '10.0.0.2')], 1_000_000);
    expect(statSync(path.join(dir, ENDPOINTS_FILE)).mode & 0o777).to.equal(0o600);
    expect(loadEndpoints(dir, 1_000_000)).to.deep.equal({ endpoints: [ep('n1', '10.0.0.1'), ep('n2', '10.0.0.2')] });
    expect(loadEndpoints(dir, 1_000_000 + MAX_RESTORE_AGE_MS + 1)).to.deep.equal({ endpoints: [] });
    expect(loadEndpoints(path.join(dir, 'none'))).to.deep.equal({ endpoints: [] });
  });

  it('skips entries that are not endpoints, and reports a file that is not JSON', () => {
    const file = path.join(dir, ENDPOINTS_FILE);
    saveEndpoints(dir, []);
    const bad = [
      { ...ep('n1', 'not-an-ip') },
      { ...ep('n2', '10.0.0.2'), weight: 500 },
      { ...ep('static', '10.0.0.3') },
      { ...ep('n4', '10.0.0.4'), labels: { a: 1 } },
      ep('n5', '10.0.0.5'),
    ];
    writeFileSync(file, JSON.stringify({ savedAt: Date.now(), endpoints: bad }));
    expect(loadEndpoints(dir)).to.deep.equal({ endpoints: [ep('n5', '10.0.0.5')] });
    writeFileSync(file, '{"savedAt":');
    expect(loadEndpoints(dir))
      .to.have.property('error')
      .that.matches(/endpoints\.json: /);
  });

  it('a registry restores them as lingering: kept until the node announces again, dropped after the grace', async () => {
    const r = new EndpointRegistry({ graceMs: 40 });
    r.announce('s1', ep('n1', '10.0.0.1'));
    r.restore([ep('n1', '10.0.0.9'), ep('n2', '10.0.0.2')]);
    // n1 is connected: what it announces now wins; n2 lingers.
    expect(
      r
        .endpoints()
        .get('orders')
        ?.map((e) => `${e.address}@${e.source}`),
    ).to.deep.equal(['10.0.0.1@n1', '10.0.0.2@n2']);
    expect(
      r
        .announced()
        .map((e) => e.source)
        .sort(),
    ).to.deep.equal(['n1', 'n2']);
    await new Promise((resolve) => r.onChange(() => resolve(undefined)));
    expect(
      r
        .endpoints()
        .get('orders')
        ?.map((e) => e.source),
    ).to.deep.equal(['n1']);
    r.close();
  });
});
