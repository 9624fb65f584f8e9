// The sidecar's worker threads beyond the main one (--concurrency N): each runs a Sidecar on the same listeners
// (SO_REUSEPORT: the kernel spreads new connections over the threads), fed by the main thread's one xDS client (the
// accepted resources' bytes on every change) and its workload certificate; the main thread's admin port sums their
// stats, and drain and stop reach every thread. A worker that dies takes the process down, as a crash of the
// single-threaded sidecar would: the orchestrator restarts it whole.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { LogLevel } from '../admin/log-levels.ts';
import type { StatsSnapshot } from '../common/stats.ts';
import type { WorkloadCertificate } from '../tls/workload-identity.ts';
import type { ResourceExport } from '../xds/resource-store.ts';
import type { FromWorker, SidecarWorkers, ToWorker, WorkerParams } from './worker-protocol.ts';

/** A worker thread's entry module (beside main.ts): .ts from the sources (tests), .js from dist/ (the bins). */
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? '../worker-main.ts' : '../worker-main.js', import.meta.url);

/** How long a worker may take to answer a stats request before /stats is served without it. */
const STATS_TIMEOUT_MS = 2_000;

/** How long a worker may take to be LIVE before the main thread says so in its log (it keeps waiting). */
const SLOW_START_MS = 30_000;

interface Thread {
  index: number;
  worker: Worker;
  ready: Promise<void>;
  /** Its last stats snapshot: stands in when it does not answer in time (summed counters never go backwards). */
  lastSnapshot?: Required<StatsSnapshot>;
}

export class WorkerPool implements SidecarWorkers {
  readonly #threads: Thread[] = [];
  readonly #logger: Logger;
  readonly #pending = new Map<number, (reply: FromWorker & { type: 'reply' }) => void>();
  #nextId = 1;
  #stopping = false;
  #config: ResourceExport | undefined;
  #certificate: WorkloadCertificate | undefined;

  /** Starts `params.concurrency - 1` workers (numbered 1…). */
  constructor(params: Omit<WorkerParams, 'index'>, logger: Logger) {
    this.#logger = logger.child({ component: 'workers' });
    for (let index = 1; index < params.concurrency; index++) this.#threads.push(this.#spawn({ ...params, index }));
  }

  #spawn(params: WorkerParams): Thread {
    const worker = new Worker(ENTRY, { workerData: params, name: `trellis-worker-${params.index}` });
    let markReady: () => void = () => undefined;
    let failReady: (err: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    // Rejections are reported where ready() is awaited (and logged below); none goes unhandled meanwhile.
    ready.catch(() => undefined);
    const slow = setTimeout(
      () =>
        this.#logger.warn({ worker: params.index }, 'worker thread not LIVE yet: waiting for its config or listeners'),
      SLOW_START_MS,
    );
    slow.unref();
    void ready.finally(() => clearTimeout(slow)).catch(() => undefined);
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') markReady();
      else if (m.type === 'reply') this.#pending.get(m.id)?.(m);
      else this.#logger.error({ worker: params.index, error: m.error }, 'worker rejected the relayed config');
    });
    worker.on('error', (err: Error) => {
      this.#logger.fatal({ err, worker: params.index }, 'worker thread failed');
      failReady(err);
    });
    worker.on('exit', (code) => {
      if (this.#stopping) return;
      this.#logger.fatal({ worker: params.index, code }, 'worker thread exited: stopping the sidecar');
      failReady(new Error(`worker ${params.index} exited with code ${code}`));
      process.exit(1);
    });
    if (this.#config !== undefined) this.#post(worker, { type: 'config', resources: this.#config });
    if (this.#certificate !== undefined) this.#post(worker, { type: 'identity', certificate: this.#certificate });
    return { index: params.index, worker, ready };
  }

  #post(worker: Worker, message: ToWorker): void {
    if (this.#stopping && message.type !== 'stop') return;
    worker.postMessage(message);
  }

  /** Every worker holds `resources` next (the main thread's accepted xDS state after each change). */
  relayConfig(resources: ResourceExport): void {
    this.#config = resources;
    for (const t of this.#threads) this.#post(t.worker, { type: 'config', resources });
  }

  /** Every worker terminates and originates mesh mTLS with `certificate` from now on. */
  relayCertificate(certificate: WorkloadCertificate): void {
    this.#certificate = certificate;
    for (const t of this.#threads) this.#post(t.worker, { type: 'identity', certificate });
  }

  async ready(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.ready));
  }

  /** Sends a request to every worker; resolves with each one's reply (undefined: none within `timeoutMs`). */
  #ask(make: (id: number) => ToWorker, timeoutMs: number): Promise<((FromWorker & { type: 'reply' }) | undefined)[]> {
    return Promise.all(
      this.#threads.map(
        (t) =>
          new Promise<(FromWorker & { type: 'reply' }) | undefined>((resolve) => {
            const id = this.#nextId++;
            const timer = setTimeout(() => {
              this.#pending.delete(id);
              resolve(undefined);
            }, timeoutMs);
            this.#pending.set(id, (reply) => {
              clearTimeout(timer);
              this.#pending.delete(id);
              resolve(reply);
            });
            this.#post(t.worker, make(id));
          }),
      ),
    );
  }

  async snapshots(): Promise<Required<StatsSnapshot>[]> {
    const replies = await this.#ask((id) => ({ type: 'stats', id }), STATS_TIMEOUT_MS);
    return this.#threads.flatMap((t, i) => {
      const fresh = replies[i]?.snapshot;
      if (fresh !== undefined) t.lastSnapshot = fresh;
      else if (t.lastSnapshot !== undefined)
        this.#logger.warn({ worker: t.index }, 'worker thread did not answer for its stats: its last ones stand in');
      return t.lastSnapshot === undefined ? [] : [t.lastSnapshot];
    });
  }

  async purgeCaches(prefix: string): Promise<number> {
    const replies = await this.#ask((id) => ({ type: 'purge', id, prefix }), STATS_TIMEOUT_MS);
    return replies.reduce((sum, r) => sum + (r?.purged ?? 0), 0);
  }

  reopenLogs(): void {
    for (const t of this.#threads) this.#post(t.worker, { type: 'reopen-logs' });
  }

  setLogLevel(key: string, level: LogLevel): void {
    for (const t of this.#threads) this.#post(t.worker, { type: 'log-level', key, level });
  }

  async drain(graceMs: number): Promise<void> {
    await this.#ask((id) => ({ type: 'drain', id, graceMs }), graceMs + 2_000);
  }

  /** Stops every worker (each drains for at most graceMs), then terminates the threads. */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    // A worker's stop: its drain (graceMs), listeners and pools (≤ 2 s), its span flush (≤ 5 s), then margin.
    await this.#ask((id) => ({ type: 'stop', id, graceMs }), graceMs + 10_000);
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }
}
