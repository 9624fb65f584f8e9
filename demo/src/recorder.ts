// What the load generator saw, per service and per second: requests, successes, latencies, the orders v1/v2 split.
import { LatencyHistogram, percentile } from './latency.ts';
import { SERVICES, type ServiceName } from './topology.ts';

interface ServiceSecond {
  requests: number;
  successes: number;
  latencies: number[];
}

/** One second of the run. */
export interface Second {
  second: number;
  services: Record<ServiceName, ServiceSecond>;
  /** Answers from orders by version (whatever their status). */
  versions: Record<string, number>;
}

export interface ServiceFigures {
  requests: number;
  successes: number;
  failures: number;
  rps: number;
  successRate: number;
  p50Ms: number;
  p99Ms: number;
}

/** Seconds kept with their raw latencies for the rolling figures. */
const KEEP = 120;

const emptyServices = (): Record<ServiceName, ServiceSecond> =>
  Object.fromEntries(SERVICES.map((s) => [s, { requests: 0, successes: 0, latencies: [] }])) as unknown as Record<
    ServiceName,
    ServiceSecond
  >;

export class Recorder {
  readonly #startMs: number;
  readonly #seconds: Second[] = [];
  readonly #totals = new Map<ServiceName, { requests: number; successes: number; latency: LatencyHistogram }>();
  readonly #versions = new Map<string, number>();
  readonly #timeline: { second: number; requests: number; failures: number; versions: Record<string, number> }[] = [];

  constructor(now = performance.now()) {
    this.#startMs = now;
    for (const s of SERVICES) this.#totals.set(s, { requests: 0, successes: 0, latency: new LatencyHistogram() });
  }

  /** Seconds since the start (1 = the first second). */
  secondAt(now = performance.now()): number {
    return Math.floor((now - this.#startMs) / 1000) + 1;
  }

  #current(now: number): Second {
    const second = this.secondAt(now);
    let last = this.#seconds.at(-1);
    while (last === undefined || last.second < second) {
      last = { second: (last?.second ?? 0) + 1, services: emptyServices(), versions: {} };
      this.#seconds.push(last);
      if (this.#seconds.length > KEEP) this.#seconds.shift();
    }
    return last;
  }

  /** One call to a service as its caller saw it. */
  call(service: ServiceName, ok: boolean, ms: number, now = performance.now()): void {
    const s = this.#current(now).services[service];
    s.requests++;
    if (ok) s.successes++;
    s.latencies.push(ms);
    const t = this.#totals.get(service);
    if (t === undefined) return;
    t.requests++;
    if (ok) t.successes++;
    t.latency.record(ms);
  }

  /** An answer from orders of this version. */
  version(version: string, now = performance.now()): void {
    const v = this.#current(now).versions;
    v[version] = (v[version] ?? 0) + 1;
    this.#versions.set(version, (this.#versions.get(version) ?? 0) + 1);
  }

  /** The completed second before `now` as a timeline entry (for the JSON ticks), once per second. */
  closeSecond(now = performance.now()): {
    second: number;
    requests: number;
    failures: number;
    versions: Record<string, number>;
  } {
    const second = this.secondAt(now) - 1;
    this.#current(now);
    const s = this.#seconds.find((x) => x.second === second);
    const web = s?.services.web;
    const entry = {
      second,
      requests: web?.requests ?? 0,
      failures: (web?.requests ?? 0) - (web?.successes ?? 0),
      versions: { ...(s?.versions ?? {}) },
    };
    if (second >= 1 && (this.#timeline.at(-1)?.second ?? 0) < second) this.#timeline.push(entry);
    return entry;
  }

  timeline(): { second: number; requests: number; failures: number; versions: Record<string, number> }[] {
    return [...this.#timeline];
  }

  /** Figures over the last `windowS` complete seconds. */
  rolling(
    windowS: number,
    now = performance.now(),
  ): { services: Record<ServiceName, ServiceFigures>; versions: Record<string, number> } {
    const upTo = this.secondAt(now) - 1;
    const window = this.#seconds.filter((s) => s.second <= upTo && s.second > upTo - windowS);
    const seconds = Math.max(1, Math.min(windowS, upTo));
    const versions: Record<string, number> = {};
    for (const s of window) for (const [v, n] of Object.entries(s.versions)) versions[v] = (versions[v] ?? 0) + n;
    const services = {} as Record<ServiceName, ServiceFigures>;
    for (const service of SERVICES) {
      const parts = window.map((s) => s.services[service]);
      const requests = parts.reduce((a, p) => a + p.requests, 0);
      const successes = parts.reduce((a, p) => a + p.successes, 0);
      const latencies = parts.flatMap((p) => p.latencies);
      services[service] = figures(
        requests,
        successes,
        requests / seconds,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
      );
    }
    return { services, versions };
  }

  /** Figures over the whole run of `elapsedS` seconds. */
  totals(elapsedS: number): { services: Record<ServiceName, ServiceFigures>; versions: Record<string, number> } {
    const services = {} as Record<ServiceName, ServiceFigures>;
    for (const [service, t] of this.#totals) {
      services[service] = figures(
        t.requests,
        t.successes,
        t.requests / Math.max(elapsedS, 0.001),
        t.latency.percentile(0.5),
        t.latency.percentile(0.99),
      );
    }
    return { services, versions: Object.fromEntries(this.#versions) };
  }
}

function figures(requests: number, successes: number, rps: number, p50Ms: number, p99Ms: number): ServiceFigures {
  return {
    requests,
    successes,
    failures: requests - successes,
    rps,
    successRate: requests === 0 ? Number.NaN : successes / requests,
    p50Ms,
    p99Ms,
  };
}
