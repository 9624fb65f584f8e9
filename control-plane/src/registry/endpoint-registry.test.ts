// EndpointRegistry: static and announced endpoints, grace period on withdraw, no flap on reconnect, tracker wiring.

import { NODE_META, type NodeInfo } from '@trellis/node-contract';
import { expect } from 'chai';
import { API_VERSION, type ServiceResource, type StaticEndpoint } from '../resources/types.ts';
import type { ProxyEvent, ProxyStatus, ProxyTracker } from '../xds/proxy-status.ts';
import type { Endpoint } from './endpoint.ts';
import { EndpointRegistry } from './endpoint-registry.ts';

const GRACE_MS = 40;

function svc(name: string, endpoints: StaticEndpoint[]): ServiceResource {
  return {
    apiVersion: API_VERSION,
    kind: 'Service',
    metadata: { name },
    spec: { ports: [{ name: 'http', port: 80, protocol: 'HTTP' }], endpoints },
  };
}

function ep(source: string, address: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { service: 'orders', address, port: 15006, labels: {}, weight: 1, zone: '', source, ...extra };
}

/** Addresses per service, for compact assertions. */
function view(r: EndpointRegistry): Record<string, string[]> {
  return Object.fromEntries(
    [...r.endpoints()].map(([s, eps]) => [s, eps.map((e) => `${e.address}:${e.port}@${e.source}`)]),
  );
}

/** Counts change events and resolves waiters on the next one. */
function watch(r: EndpointRegistry): { count(): number; next(): Promise<void> } {
  let n = 0;
  let waiters: (() => void)[] = [];
  r.onChange(() => {
    n++;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  });
  return { count: () => n, next: () => new Promise<void>((resolve) => waiters.push(resolve)) };
}

/** An in-memory ProxyTracker the test drives. */
class FakeTracker implements ProxyTracker {
  readonly statuses = new Map<string, ProxyStatus>();
  private readonly listeners = new Set<(e: ProxyEvent) => void>();

  list(): ProxyStatus[] {
    return [...this.statuses.values()];
  }

  onEvent(listener: (e: ProxyEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  connect(streamId: string, nodeId: string, metadata: Record<string, unknown>, peer = '10.9.9.9:40000'): void {
    const node: NodeInfo = {
      id: nodeId,
      cluster: '',
      metadata,
      locality: { region: '', zone: 'z1', sub_zone: '' },
      userAgentName: 'trellis-sidecar',
      userAgentVersion: '0',
      clientFeatures: [],
    };
    const status: ProxyStatus = {
      streamId,
      node,
      protocol: 'sotw',
      connectedAt: new Date().toISOString(),
      peer,
      types: [],
    };
    this.statuses.set(streamId, status);
    for (const l of this.listeners) l({ type: 'connected', status });
  }

  disconnect(streamId: string): void {
    const status = this.statuses.get(streamId);
    if (!status) return;
    this.statuses.delete(streamId);
    for (const l of this.listeners) l({ type: 'disconnected', status });
  }
}

describe('EndpointRegistry', () => {
  let registry: EndpointRegistry;
  const extra: EndpointRegistry[] = [];

  beforeEach(() => {
    registry = new EndpointRegistry({ graceMs: GRACE_MS });
  });

  afterEach(() => {
    registry.close();
    for (const r of extra.splice(0)) r.close();
  });

  it('lists static endpoints from Service specs, by service, sorted by address:port', () => {
    const changes = watch(registry);
    registry.setStatic([
      svc('orders', [
        { address: '10.0.0.2', port: 80, labels: { version: 'v1' } },
        { address: '10.0.0.1', port: 80, weight: 3, zone: 'a' },
      ]),
      svc('empty', []),
    ]);
    expect(view(registry)).to.deep.equal({ orders: ['10.0.0.1:80@static', '10.0.0.2:80@static'] });
    expect(registry.endpoints().get('orders')?.[0]).to.deep.equal({
      service: 'orders',
      address: '10.0.0.1',
      port: 80,
      labels: {},
      weight: 3,
      zone: 'a',
      source: 'static',
    });
    expect(changes.count()).to.equal(1);
    registry.setStatic([
      svc('orders', [
        { address: '10.0.0.2', port: 80, labels: { version: 'v1' } },
        { address: '10.0.0.1', port: 80, weight: 3, zone: 'a' },
      ]),
    ]);
    expect(changes.count(), 'same content, no change event').to.equal(1);
  });

  it('deduplicates by address:port: static beats announced', () => {
    registry.setStatic([svc('orders', [{ address: '10.0.0.1', port: 15006 }])]);
    registry.announce('s1', ep('node-a', '10.0.0.1'));
    registry.announce('s2', ep('node-b', '10.0.0.0'));
    expect(view(registry)).to.deep.equal({ orders: ['10.0.0.0:15006@node-b', '10.0.0.1:15006@static'] });
  });

  it('keeps a withdrawn endpoint for the grace period, then removes it', async () => {
    const changes = watch(registry);
    registry.announce('s1', ep('node-a', '10.0.0.1'));
    expect(changes.count()).to.equal(1);
    const removed = changes.next();
    registry.withdraw('s1');
    expect(view(registry), 'still there during grace').to.deep.equal({ orders: ['10.0.0.1:15006@node-a'] });
    expect(changes.count()).to.equal(1);
    await removed;
    expect(view(registry)).to.deep.equal({});
    expect(changes.count()).to.equal(2);
  });

  it('does not flap when the same node reconnects within the grace period', async () => {
    const changes = watch(registry);
    registry.announce('s1', ep('node-a', '10.0.0.1'));
    registry.announce('s9', ep('node-z', '10.0.0.9'));
    registry.withdraw('s1');
    registry.announce('s2', ep('node-a', '10.0.0.1'));
    expect(changes.count()).to.equal(2);
    // A sentinel withdrawn after node-a's grace timer started fires after it would have.
    const sentinel = changes.next();
    registry.withdraw('s9');
    await sentinel;
    expect(view(registry)).to.deep.equal({ orders: ['10.0.0.1:15006@node-a'] });
    expect(changes.count(), 'only the sentinel removal').to.equal(3);
  });

  it('does not flap when the new stream announces before the old one closes', () => {
    const changes = watch(registry);
    registry.announce('s1', ep('node-a', '10.0.0.1'));
    registry.announce('s2', ep('node-a', '10.0.0.1'));
    registry.withdraw('s1');
    expect(view(registry)).to.deep.equal({ orders: ['10.0.0.1:15006@node-a'] });
    expect(changes.count()).to.equal(1);
  });

  it('replaces what a reconnecting node announced if it changed', () => {
    registry.announce('s1', ep('node-a', '10.0.0.1'));
    registry.withdraw('s1');
    registry.announce('s2', ep('node-a', '10.0.0.2'));
    expect(view(registry)).to.deep.equal({ orders: ['10.0.0.2:15006@node-a'] });
  });

  it('removes at once with graceMs 0', () => {
    const r = new EndpointRegistry({ graceMs: 0 });
    extra.push(r);
    r.announce('s1', ep('node-a', '10.0.0.1'));
    r.withdraw('s1');
    expect(view(r)).to.deep.equal({});
  });

  it('unsubscribes change listeners', () => {
    let n = 0;
    const off = registry.onChange(() => n++);
    registry.announce('s1', ep('node-a', '10.0.0.1'));
    off();
    registry.announce('s2', ep('node-b', '10.0.0.2'));
    expect(n).to.equal(1);
  });

  it('close() stops grace timers: a withdrawn endpoint is not removed afterwards', async () => {
    const changes = watch(registry);
    registry.announce('s1', ep('node-a', '10.0.0.1'));
    registry.withdraw('s1');
    registry.close();
    const other = new EndpointRegistry({ graceMs: GRACE_MS });
    extra.push(other);
    const otherChanges = watch(other);
    other.announce('x', ep('node-x', '10.0.0.5'));
    const sentinel = otherChanges.next();
    other.withdraw('x');
    await sentinel;
    expect(view(registry)).to.deep.equal({ orders: ['10.0.0.1:15006@node-a'] });
    expect(changes.count()).to.equal(1);
  });

  describe('attach', () => {
    const META = { [NODE_META.service]: 'orders', [NODE_META.port]: 15006, [NODE_META.labels]: { version: 'v2' } };

    it('announces proxies already connected and those that connect, withdraws those that leave', async () => {
      const tracker = new FakeTracker();
      tracker.connect('s0', 'node-0', { ...META, [NODE_META.address]: '10.0.0.10' });
      const changes = watch(registry);
      const detach = registry.attach(tracker);
      expect(view(registry)).to.deep.equal({ orders: ['10.0.0.10:15006@node-0'] });
      tracker.connect('s1', 'node-1', META, '[::ffff:10.0.0.11]:5555');
      tracker.connect('s2', 'client', {}); // a plain gRPC client registers nothing
      expect(view(registry)).to.deep.equal({ orders: ['10.0.0.10:15006@node-0', '10.0.0.11:15006@node-1'] });
      const e = registry.endpoints().get('orders')?.[1];
      expect(e).to.include({ zone: 'z1' }).and.to.have.deep.property('labels', { version: 'v2' });
      const gone = changes.next();
      tracker.disconnect('s0');
      await gone;
      expect(view(registry)).to.deep.equal({ orders: ['10.0.0.11:15006@node-1'] });
      detach();
      expect(tracker.listenerCount()).to.equal(0);
    });

    it('reports unusable announcements through onInvalid and registers nothing for them', () => {
      const invalid: { streamId: string; nodeId: string; error: string }[] = [];
      const r = new EndpointRegistry({ graceMs: GRACE_MS, onInvalid: (i) => invalid.push(i) });
      extra.push(r);
      const tracker = new FakeTracker();
      r.attach(tracker);
      tracker.connect('s1', 'node-bad', { [NODE_META.service]: 'orders', [NODE_META.port]: 'http' });
      expect(view(r)).to.deep.equal({});
      expect(invalid).to.have.length(1);
      expect(invalid[0]).to.include({ streamId: 's1', nodeId: 'node-bad' });
      expect(invalid[0]?.error).to.match(/TRELLIS_PORT/);
    });

    it('detaches from every tracker on close()', () => {
      const tracker = new FakeTracker();
      registry.attach(tracker);
      registry.close();
      expect(tracker.listenerCount()).to.equal(0);
    });
  });
});
