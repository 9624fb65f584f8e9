// The simulator from the main thread: worker threads hosting the proxies, waits on full configs and watches.
import { Worker } from 'node:worker_threads';
import type { FromWorker, ProxySpec, ToWorker, WatchSpec, WorkerCounters } from './protocol.ts';
import type { WorkerInit } from './worker.ts';

/** The outcome of waiting for a set of proxies: when each got there, and who did not. */
export interface WaitResult {
  /** Epoch ms per proxy that got there. */
  times: Map<string, number>;
  pending: string[];
}

export class Simulator {
  readonly #workers: Worker[] = [];
  readonly #home = new Map<string, Worker>();
  readonly #fullAt = new Map<string, number>();
  readonly #watched = new Map<number, Map<string, number>>();
  readonly #stats = new Map<number, (c: WorkerCounters) => void>();
  readonly resets: { id: string; code: number; details: string }[] = [];
  readonly #listeners = new Set<(times: Map<string, number>, id: string) => void>();
  #nextId = 1;
  #next = 0;

  static async start(workers: number, init: WorkerInit): Promise<Simulator> {
    const sim = new Simulator();
    await Promise.all(
      Array.from({ length: workers }, () => {
        // A young generation big enough for a burst of configurations: fewer promotions, less major GC.
        const w = new Worker(new URL('./worker.ts', import.meta.url), {
          workerData: init,
          resourceLimits: { maxYoungGenerationSizeMb: 256 },
        });
        sim.#workers.push(w);
        w.on('message', (m: FromWorker) => sim.#onMessage(m));
        w.on('error', (err) => {
          throw err;
        });
        return new Promise<void>((resolve) => {
          const onReady = (m: FromWorker): void => {
            if (m.type !== 'ready') return;
            w.off('message', onReady);
            resolve();
          };
          w.on('message', onReady);
        });
      }),
    );
    return sim;
  }

  #onMessage(m: FromWorker): void {
    if (m.type === 'stats') {
      this.#stats.get(m.requestId)?.(m.counters);
      this.#stats.delete(m.requestId);
    }
    if (m.type !== 'events') return;
    for (const e of m.events) {
      if (e.type === 'full') {
        if (!this.#fullAt.has(e.id)) this.#record(this.#fullAt, e.id, e.at);
      } else if (e.type === 'watched') {
        const times = this.#watched.get(e.watchId);
        if (times) this.#record(times, e.id, e.at);
      } else this.resets.push({ id: e.id, code: e.code, details: e.details });
    }
  }

  #record(times: Map<string, number>, id: string, at: number): void {
    times.set(id, at);
    for (const l of this.#listeners) l(times, id);
  }

  #send(w: Worker, m: ToWorker): void {
    w.postMessage(m);
  }

  /** Proxies holding a full config so far. */
  fullCount(): number {
    return this.#fullAt.size;
  }

  /** Connects proxies, spread round-robin over the workers. */
  connect(proxies: readonly ProxySpec[]): void {
    const batches = new Map<Worker, ProxySpec[]>();
    for (const p of proxies) {
      const w = this.#workers[this.#next++ % this.#workers.length]!;
      this.#home.set(p.id, w);
      const batch = batches.get(w);
      if (batch) batch.push(p);
      else batches.set(w, [p]);
    }
    for (const [w, batch] of batches) this.#send(w, { type: 'connect', proxies: batch });
  }

  disconnect(ids: readonly string[]): void {
    for (const w of this.#workers) {
      const mine = ids.filter((id) => this.#home.get(id) === w);
      if (mine.length > 0) this.#send(w, { type: 'disconnect', ids: mine });
    }
    for (const id of ids) {
      this.#home.delete(id);
      this.#fullAt.delete(id);
    }
  }

  /** Starts a watch on every connected non-extra proxy; returns its id for waitWatch. */
  watch(spec: Omit<WatchSpec, 'watchId'>): number {
    const watchId = this.#nextId++;
    this.#watched.set(watchId, new Map());
    for (const w of this.#workers) this.#send(w, { type: 'watch', watchId, ...spec });
    return watchId;
  }

  /** Waits until every id holds a full config, at most timeoutMs. */
  waitFull(ids: readonly string[], timeoutMs: number): Promise<WaitResult> {
    return this.#waitFor(ids, this.#fullAt, timeoutMs);
  }

  /** Waits until every id ACKed the watched change, at most timeoutMs. */
  waitWatch(watchId: number, ids: readonly string[], timeoutMs: number): Promise<WaitResult> {
    return this.#waitFor(ids, this.#watched.get(watchId)!, timeoutMs);
  }

  #waitFor(ids: readonly string[], times: Map<string, number>, timeoutMs: number): Promise<WaitResult> {
    const result = (): WaitResult => {
      const got = new Map<string, number>();
      const pending: string[] = [];
      for (const id of ids) {
        const t = times.get(id);
        if (t === undefined) pending.push(id);
        else got.set(id, t);
      }
      return { times: got, pending };
    };
    return new Promise((resolve) => {
      const pending = new Set(ids.filter((id) => !times.has(id)));
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(onEvent);
        resolve(result());
      };
      const onEvent = (m: Map<string, number>, id: string): void => {
        if (m !== times || !pending.delete(id) || pending.size > 0) return;
        done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#listeners.add(onEvent);
      if (pending.size === 0) done();
    });
  }

  /** Counters summed over the workers. */
  async counters(): Promise<WorkerCounters> {
    const all = await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<WorkerCounters>((resolve) => {
            const requestId = this.#nextId++;
            this.#stats.set(requestId, resolve);
            this.#send(w, { type: 'stats', requestId });
          }),
      ),
    );
    return all.reduce(
      (a, c) => ({
        messages: a.messages + c.messages,
        bytes: a.bytes + c.bytes,
        resets: a.resets + c.resets,
        connected: a.connected + c.connected,
      }),
      { messages: 0, bytes: 0, resets: 0, connected: 0 },
    );
  }

  /** Closes every stream and ends the workers (terminated when they have not exited after graceMs). */
  async close(graceMs = 10_000): Promise<void> {
    await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void w.terminate(), graceMs);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            this.#send(w, { type: 'close' });
          }),
      ),
    );
  }
}
