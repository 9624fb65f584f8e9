// `npm run demo -- --duration 20s --json` end to end: every service answers, the canary split holds and moves
// when a 50/50 route is applied mid-run with the real trellisctl, nothing fails, and no process outlives the demo.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { BIN, REPO_ROOT, run } from './helpers/processes.ts';

interface Tick {
  event: 'tick';
  second: number;
  requests: number;
  failures: number;
  versions: Record<string, number>;
}

interface Figures {
  requests: number;
  successes: number;
  failures: number;
  rps: number;
  p50Ms: number | null;
  p99Ms: number | null;
  sidecarInbound: number;
  sidecarInboundMtlsHandshakes: number;
}

interface Summary {
  api: string;
  durationSeconds: number;
  services: Record<'web' | 'orders' | 'payments' | 'inventory', Figures>;
  split: Record<string, number>;
  ejections: { total: number; active: unknown[] };
  plaintextConnections: number;
  timeline: Omit<Tick, 'event'>[];
  traces: {
    spans: number;
    traces: number;
    services: string[];
    widest: { services: string[]; spans: number } | undefined;
  } | null;
  gateway: { url: string; caFile: string; probeStatus: number };
}

/** The demo as a child process (its own process group, so a failing test can still stop all of it). */
class DemoRun {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly #waiters: {
    pred: (e: Record<string, unknown>) => boolean;
    resolve: (e: Record<string, unknown>) => void;
  }[] = [];

  constructor(args: string[]) {
    this.child = spawn('npm', ['run', 'demo', '--', ...args], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.child.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    let partial = '';
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      partial += d.toString();
      let nl = partial.indexOf('\n');
      while (nl >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        nl = partial.indexOf('\n');
        if (!line.startsWith('{')) continue;
        const event = JSON.parse(line) as Record<string, unknown>;
        this.events.push(event);
        for (const w of this.#waiters.splice(0)) {
          if (w.pred(event)) w.resolve(event);
          else this.#waiters.push(w);
        }
      }
    });
  }

  waitFor(pred: (e: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no such event within ${timeoutMs} ms; stderr:\n${this.stderr}`)),
        timeoutMs,
      );
      void this.exited.then((code) => reject(new Error(`demo exited (${code}) first; stderr:\n${this.stderr}`)));
      this.#waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** Stops the whole process group (npm, the demo and, should it have failed to, its children). */
  kill(): void {
    if (this.child.exitCode !== null || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Share of v2 among the orders answers of the given seconds. */
function v2Share(timeline: Summary['timeline'], from: number, to: number): { share: number; answers: number } {
  let v1 = 0;
  let v2 = 0;
  for (const t of timeline) {
    if (t.second < from || t.second > to) continue;
    v1 += t.versions['v1'] ?? 0;
    v2 += t.versions['v2'] ?? 0;
  }
  return { share: v2 / Math.max(1, v1 + v2), answers: v1 + v2 };
}

describe('npm run demo', function () {
  this.timeout(90_000);
  let demo: DemoRun | undefined;

  afterEach(async () => {
    demo?.kill();
    await demo?.exited;
    demo = undefined;
  });

  it('runs 20 s headless: all services answer, 90/10 then 50/50 after a mid-run apply, no failures, no orphans', async () => {
    demo = new DemoRun(['--duration', '20s', '--json']);
    const ready = await demo.waitFor((e) => e['event'] === 'ready', 45_000);
    const api = ready['api'] as string;
    expect(api).to.match(/^127\.0\.0\.1:\d+$/);
    const pids = ready['pids'] as Record<string, number>;
    expect(Object.keys(pids)).to.include.members([
      'demo',
      'control-plane',
      'web',
      'orders-v1-a',
      'orders-v2',
      'payments',
      'inventory',
      'loadgen-sidecar',
    ]);

    // Phase 1 (90/10) for 7 s of traffic, then the 50/50 canary step with the real trellisctl.
    await demo.waitFor((e) => e['event'] === 'tick' && (e['second'] as number) >= 7, 30_000);
    const lastBefore = Math.max(...demo.events.filter((e) => e['event'] === 'tick').map((e) => e['second'] as number));
    const applied = await run(BIN.trellisctl, [
      '--api',
      api,
      'apply',
      '-f',
      path.join(REPO_ROOT, 'demo/config/canary-50.yaml'),
    ]);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.stdout).to.contain('route/orders configured');
    const ticksAfterApply = demo.events.filter((e) => e['event'] === 'tick').map((e) => e['second'] as number);
    const appliedAt = Math.max(lastBefore, ...ticksAfterApply) + 1; // the second in which the apply finished

    const code = await demo.exited;
    expect(code, demo.stderr).to.equal(0);
    const summary = JSON.parse(demo.stdout.trim().split('\n').at(-1) as string) as Summary;

    expect(summary.api).to.equal(api);
    expect(summary.durationSeconds).to.be.within(19.5, 22);
    for (const [name, f] of Object.entries(summary.services)) {
      expect(f.requests, name).to.be.greaterThan(400);
      expect(f.failures, `${name} failures`).to.equal(0);
      expect(f.successes, name).to.equal(f.requests);
      expect(f.p50Ms, name).to.be.a('number').and.greaterThan(0);
      expect(f.p99Ms as number, name).to.be.at.least(f.p50Ms as number);
      expect(f.sidecarInbound, `${name} as its sidecars counted it`).to.be.at.least(f.requests);
      // The demo runs STRICT mesh mTLS: every service's sidecars terminated TLS, none took plaintext.
      expect(f.sidecarInboundMtlsHandshakes, `${name} mTLS handshakes`).to.be.greaterThan(0);
    }
    expect(summary.services.web.rps).to.be.within(25, 32);
    expect((summary.split['v1'] ?? 0) + (summary.split['v2'] ?? 0)).to.equal(summary.services.orders.requests);

    const before = v2Share(summary.timeline, 1, lastBefore);
    const after = v2Share(summary.timeline, appliedAt + 1, 1000);
    expect(before.answers, 'answers before the apply').to.be.greaterThan(150);
    expect(after.answers, 'answers after the apply').to.be.greaterThan(200);
    expect(before.share, `v2 share at 90/10 over ${before.answers} answers`).to.be.within(0.03, 0.2);
    expect(after.share, `v2 share at 50/50 over ${after.answers} answers`).to.be.within(0.38, 0.62);
    expect(summary.ejections.total).to.equal(0);
    expect(summary.plaintextConnections).to.equal(0);
    // The edge gateway answered over HTTPS with a certificate from the demo's CA (trusted by the probe, as curl would).
    expect(summary.gateway.probeStatus).to.equal(200);
    expect(summary.gateway.url).to.match(/^https:\/\/localhost:\d+\/checkout$/);
    // Tracing: the mesh's Telemetry samples 20% of new requests; the sidecars export to the demo's own OTLP receiver.
    const traces = summary.traces;
    expect(traces, 'traces received by the demo').to.not.equal(null);
    expect(traces?.traces ?? 0).to.be.greaterThan(0.1 * summary.services.web.requests);
    expect(traces?.services).to.include.members(['loadgen', 'web', 'orders', 'payments']);
    expect(traces?.widest?.services.slice(0, 4)).to.deep.equal(['loadgen', 'web', 'orders', 'payments']);

    for (const [name, pid] of Object.entries(pids))
      expect(alive(pid), `${name} (pid ${pid}) still running`).to.equal(false);
  });

  it('refuses a bad flag with a message naming it, before starting anything', async () => {
    const r = await run(path.join(REPO_ROOT, 'demo/src/main.ts'), ['--rps', 'lots']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain("option '--rps <n>' argument 'lots' is invalid. expected an integer from 1 to 500");
    const help = await run(path.join(REPO_ROOT, 'demo/src/main.ts'), ['--help']);
    expect(help.code).to.equal(0);
    for (const flag of ['--duration', '--json', '--rps', '--base-port']) expect(help.stdout).to.contain(flag);
  });
});
