// The endpoint registry: static endpoints from Service specs plus those connected proxies announce, with a grace period.
import type { ServiceResource } from '../resources/types.ts';
import type { ProxyTracker } from '../xds/proxy-status.ts';
import type { Endpoint } from './endpoint.ts';
import { endpointFromNode, peerIpOf } from './from-node.ts';

export interface EndpointRegistryOptions {
  /** How long an endpoint outlives its proxy's stream; the same node announcing again within it keeps it in place. */
  graceMs: number;
  /** Called when a connected proxy announces an endpoint that cannot be used (the proxy stays connected). */
  onInvalid?: (info: { streamId: string; nodeId: string; error: string }) => void;
}

interface Lingering {
  ep: Endpoint;
  timer: NodeJS.Timeout;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function endpointKey(ep: Endpoint): string {
  return `${ep.address}:${ep.port}`;
}

/** Static endpoints plus announced ones, grouped by service; see `endpoints()` for precedence and order. */
export class EndpointRegistry {
  private readonly opts: EndpointRegistryOptions;
  private staticEndpoints: Endpoint[] = [];
  /** Live announcements by stream id. */
  private readonly live = new Map<string, Endpoint>();
  /** Endpoints of closed streams waiting out the grace period, by node id. */
  private readonly lingering = new Map<string, Lingering>();
  private readonly listeners = new Set<() => void>();
  private readonly detachers = new Set<() => void>();
  private current: ReadonlyMap<string, readonly Endpoint[]> = new Map();
  private currentKey = '';

  constructor(opts: EndpointRegistryOptions) {
    this.opts = opts;
  }

  /** Replaces the static endpoints with those listed in the Service specs (source 'static'). */
  setStatic(services: readonly ServiceResource[]): void {
    this.staticEndpoints = services.flatMap((svc) =>
      (svc.spec.endpoints ?? []).map((e) => ({
        service: svc.metadata.name,
        address: e.address,
        port: e.port,
        labels: { ...(e.labels ?? {}) },
        weight: e.weight ?? 1,
        zone: e.zone ?? '',
        source: 'static',
      })),
    );
    this.recompute();
  }

  /** Records the endpoint a stream's proxy fronts; a lingering endpoint of the same node is replaced without a flap. */
  announce(streamId: string, ep: Endpoint): void {
    const old = this.lingering.get(ep.source);
    if (old) {
      clearTimeout(old.timer);
      this.lingering.delete(ep.source);
    }
    this.live.set(streamId, ep);
    this.recompute();
  }

  /** The stream closed: its endpoint stays for graceMs unless the same node id announces again (or still does). */
  withdraw(streamId: string): void {
    const ep = this.live.get(streamId);
    if (!ep) return;
    this.live.delete(streamId);
    const stillLive = [...this.live.values()].some((e) => e.source === ep.source);
    if (!stillLive && this.opts.graceMs > 0) {
      const prev = this.lingering.get(ep.source);
      if (prev) clearTimeout(prev.timer);
      const timer = setTimeout(() => {
        if (this.lingering.get(ep.source)?.timer !== timer) return;
        this.lingering.delete(ep.source);
        this.recompute();
      }, this.opts.graceMs);
      timer.unref();
      this.lingering.set(ep.source, { ep, timer });
    }
    this.recompute();
  }

  /**
   * Endpoints by service, each list deduplicated by address:port and sorted by it. When several claim one
   * address:port, a static entry wins over a live announcement, which wins over one in its grace period.
   */
  endpoints(): ReadonlyMap<string, readonly Endpoint[]> {
    return this.current;
  }

  /** Subscribes to changes of `endpoints()` (only real changes: a reconnect within grace fires nothing). */
  onChange(listener: () => void): () => void {
    const wrapped = (): void => listener();
    this.listeners.add(wrapped);
    return () => {
      this.listeners.delete(wrapped);
    };
  }

  /** Announces and withdraws endpoints as proxies connect to and disconnect from the tracker's xDS server. */
  attach(tracker: ProxyTracker): () => void {
    const connected = (streamId: string, node: Parameters<typeof endpointFromNode>[0], peer: string): void => {
      const ep = endpointFromNode(node, peerIpOf(peer));
      if (ep === undefined) return;
      if ('error' in ep) {
        this.opts.onInvalid?.({ streamId, nodeId: node.id, error: ep.error });
        return;
      }
      this.announce(streamId, ep);
    };
    const unsubscribe = tracker.onEvent((e) => {
      if (e.type === 'connected') connected(e.status.streamId, e.status.node, e.status.peer);
      else this.withdraw(e.status.streamId);
    });
    for (const status of tracker.list()) {
      if (!this.live.has(status.streamId)) connected(status.streamId, status.node, status.peer);
    }
    const detach = (): void => {
      unsubscribe();
      this.detachers.delete(detach);
    };
    this.detachers.add(detach);
    return detach;
  }

  /** Stops grace timers (lingering endpoints stay as they are) and detaches from every tracker. */
  close(): void {
    for (const l of this.lingering.values()) clearTimeout(l.timer);
    for (const detach of [...this.detachers]) detach();
  }

  private recompute(): void {
    const byService = new Map<string, Map<string, Endpoint>>();
    const add = (ep: Endpoint): void => {
      let eps = byService.get(ep.service);
      if (!eps) {
        eps = new Map();
        byService.set(ep.service, eps);
      }
      const key = endpointKey(ep);
      if (!eps.has(key)) eps.set(key, ep);
    };
    const bySource = (a: Endpoint, b: Endpoint): number => compare(a.source, b.source);
    for (const ep of this.staticEndpoints) add(ep);
    for (const ep of [...this.live.values()].sort(bySource)) add(ep);
    for (const { ep } of [...this.lingering.values()].sort((a, b) => bySource(a.ep, b.ep))) add(ep);
    const next = new Map<string, readonly Endpoint[]>();
    for (const service of [...byService.keys()].sort(compare)) {
      const eps = byService.get(service) as Map<string, Endpoint>;
      next.set(
        service,
        [...eps.entries()].sort(([a], [b]) => compare(a, b)).map(([, ep]) => ep),
      );
    }
    const key = JSON.stringify([...next]);
    if (key === this.currentKey) return;
    this.current = next;
    this.currentKey = key;
    for (const l of [...this.listeners]) l();
  }
}
