// EndpointRegistry against a reference model: random announces, withdraws and static lists give the same endpoints
// and a change event exactly when they change (the incremental index agrees with recomputing everything).
import { expect } from 'chai';
import fc from 'fast-check';
import { API_VERSION, type ServiceResource } from '../resources/types.ts';
import type { Endpoint } from './endpoint.ts';
import { EndpointRegistry } from './endpoint-registry.ts';

/** What the registry did before it was incremental: recompute every service from scratch after each operation. */
class Reference {
  static: Endpoint[] = [];
  readonly live = new Map<string, Endpoint>();
  readonly lingering = new Map<string, Endpoint>();
  readonly grace: boolean;
  constructor(grace: boolean) {
    this.grace = grace;
  }

  announce(streamId: string, ep: Endpoint): void {
    this.lingering.delete(ep.source);
    this.live.set(streamId, ep);
  }

  withdraw(streamId: string): void {
    const ep = this.live.get(streamId);
    if (!ep) return;
    this.live.delete(streamId);
    const stillLive = [...this.live.values()].some((e) => e.source === ep.source);
    if (!stillLive && this.grace) this.lingering.set(ep.source, ep);
  }

  view(): string {
    const by = new Map<string, Map<string, Endpoint>>();
    const add = (ep: Endpoint): void => {
      const eps = by.get(ep.service) ?? new Map<string, Endpoint>();
      by.set(ep.service, eps);
      const key = `${ep.address}:${ep.port}`;
      if (!eps.has(key)) eps.set(key, ep);
    };
    const bySource = (a: Endpoint, b: Endpoint): number => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0);
    for (const ep of this.static) add(ep);
    for (const ep of [...this.live.values()].sort(bySource)) add(ep);
    for (const ep of [...this.lingering.values()].sort(bySource)) add(ep);
    return render(
      new Map(
        [...by.keys()]
          .sort()
          .map((s) => [
            s,
            [...by.get(s)!.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ep]) => ep),
          ]),
      ),
    );
  }
}

function render(m: ReadonlyMap<string, readonly Endpoint[]>): string {
  return JSON.stringify([...m].map(([s, eps]) => [s, eps.map((e) => [e.address, e.port, e.source, e.weight])]));
}

type Op =
  | { op: 'announce'; stream: number; node: number; service: number; address: number; weight: number }
  | { op: 'withdraw'; stream: number }
  | { op: 'static'; entries: { service: number; address: number; weight: number }[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('announce' as const),
    stream: fc.nat(30),
    node: fc.nat(6),
    service: fc.nat(2),
    address: fc.nat(4),
    weight: fc.integer({ min: 1, max: 2 }),
  }),
  fc.record({ op: fc.constant('withdraw' as const), stream: fc.nat(30) }),
  fc.record({
    op: fc.constant('static' as const),
    // Repeats included: a Service may list one address twice.
    entries: fc.array(fc.record({ service: fc.nat(2), address: fc.nat(4), weight: fc.integer({ min: 1, max: 3 }) }), {
      maxLength: 4,
    }),
  }),
);

function services(entries: { service: number; address: number; weight: number }[]): ServiceResource[] {
  return [0, 1, 2].map((s) => ({
    apiVersion: API_VERSION,
    kind: 'Service',
    metadata: { name: `svc${s}` },
    spec: {
      ports: [{ name: 'http', port: 80, protocol: 'HTTP' }],
      endpoints: entries
        .filter((e) => e.service === s)
        .map((e) => ({ address: `10.0.0.${e.address}`, port: 80, weight: e.weight })),
    },
  }));
}

describe('EndpointRegistry (model)', () => {
  for (const grace of [false, true]) {
    it(`agrees with recomputing from scratch (${grace ? 'with' : 'without'} a grace period)`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
          // A grace period that outlives the test: lingering endpoints stay until the node announces again.
          const r = new EndpointRegistry({ graceMs: grace ? 3_600_000 : 0 });
          const ref = new Reference(grace);
          let events = 0;
          r.onChange(() => events++);
          const announced = new Set<number>();
          try {
            for (const o of ops) {
              const before = ref.view();
              const eventsBefore = events;
              if (o.op === 'announce') {
                // A stream announces once, when its first request arrives.
                if (announced.has(o.stream)) continue;
                announced.add(o.stream);
                const ep: Endpoint = {
                  service: `svc${o.service}`,
                  address: `10.0.0.${o.address}`,
                  port: 80,
                  labels: {},
                  weight: o.weight,
                  zone: '',
                  source: `node-${o.node}`,
                };
                r.announce(`s${o.stream}`, ep);
                ref.announce(`s${o.stream}`, ep);
              } else if (o.op === 'withdraw') {
                r.withdraw(`s${o.stream}`);
                ref.withdraw(`s${o.stream}`);
              } else {
                const list = services(o.entries);
                r.setStatic(list);
                ref.static = list.flatMap((svc) =>
                  (svc.spec.endpoints ?? []).map((e) => ({
                    service: svc.metadata.name,
                    address: e.address,
                    port: e.port,
                    labels: {},
                    weight: e.weight ?? 1,
                    zone: '',
                    source: 'static',
                  })),
                );
              }
              const after = ref.view();
              expect(render(r.endpoints()), JSON.stringify(o)).to.equal(after);
              expect(events - eventsBefore, `change event for ${JSON.stringify(o)}`).to.equal(after === before ? 0 : 1);
            }
          } finally {
            r.close();
          }
        }),
        { seed: 7, numRuns: 400 },
      );
    });
  }
});
