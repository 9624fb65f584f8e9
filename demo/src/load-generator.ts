// A steady, bounded stream of GET http://web:8080/checkout through the load generator's own sidecar.
import http from 'node:http';
import type { Recorder } from './recorder.ts';
import type { ServiceName } from './topology.ts';

/** A hop as web reports it in its /checkout answer. */
interface Hop {
  ok?: boolean;
  ms?: number;
  version?: string;
}

interface Checkout {
  inventory?: Hop | null;
  orders?: Hop | null;
  payments?: Hop | null;
}

export interface LoadGenerator {
  /** Requests not sent because too many were still in flight. */
  readonly shed: number;
  /** Stops sending and waits (up to 3 s) for the requests in flight. */
  stop(): Promise<void>;
}

const TICK_MS = 10;
const TIMEOUT_MS = 5000;

/** Sends `rps` requests per second (open loop, at most 4×rps in flight) and records what came back. */
export function startLoad(opts: { outboundPort: number; rps: number; recorder: Recorder }): LoadGenerator {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const maxInFlight = Math.max(8, opts.rps * 4);
  const started = performance.now();
  let sent = 0;
  let shed = 0;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const record = (status: number, body: string, ms: number): void => {
    const now = performance.now();
    opts.recorder.call('web', status === 200, ms, now);
    let checkout: Checkout;
    try {
      checkout = JSON.parse(body) as Checkout;
    } catch {
      return;
    }
    for (const service of ['inventory', 'orders', 'payments'] as ServiceName[]) {
      const hop = checkout[service as keyof Checkout];
      if (hop && typeof hop.ms === 'number') opts.recorder.call(service, hop.ok === true, hop.ms, now);
    }
    if (typeof checkout.orders?.version === 'string') opts.recorder.version(checkout.orders.version, now);
  };

  const one = (): void => {
    inFlight++;
    const t0 = performance.now();
    const done = (status: number, body: string): void => {
      record(status, body, performance.now() - t0);
      inFlight--;
      if (inFlight === 0) drained?.();
    };
    const req = http.request(
      {
        host: '127.0.0.1',
        port: opts.outboundPort,
        path: 'http://web:8080/checkout',
        headers: { host: 'web:8080' },
        agent,
        timeout: TIMEOUT_MS,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => done(res.statusCode ?? 0, body));
        res.on('error', () => done(0, ''));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0, ''));
    req.end();
  };

  const timer = setInterval(() => {
    const owed = Math.floor(((performance.now() - started) / 1000) * opts.rps) - sent - shed;
    for (let i = 0; i < owed; i++) {
      if (inFlight >= maxInFlight) shed++;
      else {
        sent++;
        one();
      }
    }
  }, TICK_MS);

  return {
    get shed() {
      return shed;
    },
    async stop() {
      clearInterval(timer);
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, 3000).unref();
        });
      }
      agent.destroy();
    },
  };
}
