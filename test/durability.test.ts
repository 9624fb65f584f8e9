// Durability end to end: the real control-plane bin on a data dir, the real trellisctl bin, kill -9, restart.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { AdminClient } from '../control-plane/src/api/client.ts';
import { resourceToMessage } from '../control-plane/src/api/messages.ts';
import type { Resource } from '../control-plane/src/resources/types.ts';
import { ORDERS_YAML, route, service } from './fixtures/resources.ts';
import { BIN, controlPlaneArgs, type Daemon, run, startControlPlaneProcess } from './helpers/processes.ts';

describe('durability: kill -9 and restart on the same data dir', function () {
  this.timeout(60_000);
  let dataDir: string;
  const daemons: Daemon[] = [];
  const clients: AdminClient[] = [];

  /** Starts the control plane on dataDir; resolves with its API address once it listens. */
  async function startControlPlane(): Promise<string> {
    const cp = await startControlPlaneProcess(dataDir);
    daemons.push(cp.daemon);
    return cp.api;
  }

  const ctl = (api: string, args: string[], input = '') => run(BIN.trellisctl, ['--api', api, ...args], input);

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'trellis-durability-'));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const d of daemons.splice(0)) await d.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('trellisctl get returns everything applied before the kill', async () => {
    const api = await startControlPlane();
    const applied = await ctl(api, ['apply', '-f', '-'], ORDERS_YAML);
    expect(applied).to.deep.include({
      code: 0,
      stdout: 'service/orders created\ntrafficpolicy/orders created\nroute/orders created\n',
    });
    const changed = await ctl(api, ['apply', '-f', '-'], ORDERS_YAML.replace('port: 8080', 'port: 8081'));
    expect(changed.stdout).to.contain('service/orders configured');
    await daemons[0]!.stop('SIGKILL');

    const again = await startControlPlane();
    const got = await ctl(again, ['get', 'svc', 'orders', '-o', 'yaml']);
    expect(got.code, got.stderr).to.equal(0);
    const svc = parseAllDocuments(got.stdout)[0]!.toJS() as Resource;
    expect(svc.spec).to.deep.equal({ ports: [{ name: 'http', port: 8081, protocol: 'HTTP' }] });
    expect(svc.metadata.generation).to.equal(2);
    for (const kind of ['route', 'tp']) {
      const listed = await ctl(again, ['get', kind]);
      expect(listed.code, listed.stderr).to.equal(0);
      expect(listed.stdout.split('\n')[1]).to.match(/^orders /);
    }
  });

  it('a kill -9 during a stream of applies leaves each batch wholly stored or wholly absent', async () => {
    const api = await startControlPlane();
    const client = new AdminClient(api);
    clients.push(client);
    const acked = new Set<number>();
    const BATCHES = 200;
    let killed: () => void = () => undefined;
    const killedNow = new Promise<void>((resolve) => {
      killed = resolve;
    });
    // Each batch i holds Service s-i and a Route r-i to it: the route alone would be an invalid state. Four writers
    // keep several applies in flight when the kill lands.
    const worker = async (first: number) => {
      for (let i = first; i < BATCHES; i += 4) {
        const batch = [service(`s-${i}`), route(`r-${i}`, `s-${i}`)].map((d) => resourceToMessage(d as Resource));
        try {
          await client.apply({ resources: batch, dry_run: false });
        } catch {
          return;
        }
        acked.add(i);
        if (acked.size === 40) killed();
      }
    };
    const applying = Promise.all([0, 1, 2, 3].map(worker));
    await killedNow;
    await daemons[0]!.stop('SIGKILL');
    await applying;

    const again = await startControlPlane();
    const verify = new AdminClient(again);
    clients.push(verify);
    const { resources } = await verify.list();
    const names = new Set(resources.map((r) => `${r.kind}/${r.metadata?.name}`));
    for (let i = 0; i < BATCHES; i++) {
      const hasService = names.has(`Service/s-${i}`);
      expect(names.has(`Route/r-${i}`), `batch ${i}`).to.equal(hasService);
      if (acked.has(i)) expect(hasService, `acknowledged batch ${i}`).to.equal(true);
    }
    expect(acked.size).to.be.at.least(40);
  });

  it('a second control plane on the same data dir is refused, naming the first; a clean stop releases it', async () => {
    const first = await startControlPlaneProcess(dataDir);
    daemons.push(first.daemon);
    const second = await run(BIN.controlPlane, controlPlaneArgs(dataDir));
    expect(second.code).to.equal(1);
    expect(second.stderr).to.match(
      new RegExp(`data directory .* is in use by another control plane \\(pid ${first.daemon.child.pid} on `),
    );
    expect(await first.daemon.stop('SIGTERM')).to.equal(0);
    daemons.splice(daemons.indexOf(first.daemon), 1);
    expect(await readdir(dataDir)).to.not.include('lock');
    const again = await startControlPlane();
    expect((await ctl(again, ['get', 'svc'])).code).to.equal(0);
  });
});
