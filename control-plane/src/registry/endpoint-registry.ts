// The endpoint registry: static endpoints from Service specs plus those connected proxies announce, with a grace period.
import type { ServiceResource } from '../resources/types.ts';
import type { ProxyStatus, ProxyTracker } from '../xds/proxy-status.ts';
import { type AnnouncementPolicy, announcementProblem } from './announcement-policy.ts';
import type { Endpoint } from './endpoint.ts';
import { endpointFromNode, grpcPeerIp } from './from-node.ts';
import { type Claim, ClaimRank, contentOf, ServiceEndpoints } from './service-endpoints.ts';

export interface EndpointRegistryOptions {
  /** How long an endpoint outlives its proxy's stream; the same node announcing again within it keeps it in place. */
  graceMs: number;
  /** Called when a connected proxy announces an endpoint that cannot be used (the proxy stays connected). */
  onInvalid?: (info: { streamId: string; nodeId: string; error: string }) => void;
  /** Who may announce what (see announcement-policy.ts); none = every connected proxy may announce anything valid. */
  policy?: AnnouncementPolicy;
}

interface Lingering {
  claim: Claim;
  timer: NodeJS.Timeout;
  /** When it is dropped (ms since the epoch). */
  until: number;
}

/** An announced endpoint and how long it may outlive its proxy's stream (what the endpoint store keeps). */
export interface AnnouncedEndpoint {
  ep: Endpoint;
  /** Live: now + grace (it would linger that long once its stream ends); lingering: its deadline. */
  until: number;
}

/**
 * Whose announcement an endpoint is: the node id under the identity its stream proved. A node id alone is chosen by
 * the client, so another identity reusing it must not replace, or keep from lingering, the first one's endpoint.
 */
function ownerOf(ep: Endpoint): string {
  return `${ep.identity ?? ''}\u0000${ep.source}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Static endpoints plus announced ones, grouped by service; see `endpoints()` for precedence and order. Each
 * announce or withdraw costs O(1) plus the claims on its address:port (a connect storm of N proxies is O(N), not
 * O(N²)); the per-service lists are rebuilt when read after a change.
 */
export class EndpointRegistry {
  private readonly opts: EndpointRegistryOptions;
  private staticClaims: Claim[] = [];
  /** Live announcements by stream id. */
  private readonly live = new Map<string, Claim>();
  /** Live streams per owner (identity and node id; a node may reconnect before its old stream closes). */
  private readonly liveBySource = new Map<string, number>();
  /** Endpoints of closed streams waiting out the grace period, by owner. */
  private readonly lingering = new Map<string, Lingering>();
  private readonly services = new Map<string, ServiceEndpoints>();
  private readonly listeners = new Set<() => void>();
  private readonly detachers = new Set<() => void>();
  private current: ReadonlyMap<string, readonly Endpoint[]> = new Map();
  private stale = false;
  private seq = 0;

  constructor(opts: EndpointRegistryOptions) {
    this.opts = opts;
  }

  /** Replaces the static endpoints with those listed in the Service specs (source 'static'). */
  setStatic(services: readonly ServiceResource[]): void {
    const next = services.flatMap((svc) =>
      (svc.spec.endpoints ?? []).map((e) =>
        this.claim(ClaimRank.Static, {
          service: svc.metadata.name,
          address: e.address,
          port: e.port,
          labels: { ...(e.labels ?? {}) },
          weight: e.weight ?? 1,
          zone: e.zone ?? '',
          source: 'static',
        }),
      ),
    );
    // Static claims are replaced in spec order (the first entry for an address:port wins, as from scratch); only a
    // real change in what the touched services publish is announced.
    const touched = new Set([...this.staticClaims, ...next].map((c) => c.ep.service));
    const before = new Map([...touched].map((service) => [service, this.rendered(service)]));
    for (const c of this.staticClaims) this.remove(c);
    for (const c of next) this.add(c);
    this.staticClaims = next;
    this.stale = true;
    if ([...touched].some((service) => this.rendered(service) !== before.get(service))) this.changed();
  }

  /** Records the endpoint a stream's proxy fronts; a lingering endpoint of the same node is replaced without a flap. */
  announce(streamId: string, ep: Endpoint): void {
    const claim = this.claim(ClaimRank.Live, ep);
    let changed = false;
    const previous = this.live.get(streamId);
    if (previous) {
      changed = this.remove(previous) || changed;
      this.countSource(ownerOf(previous.ep), -1);
    }
    this.live.set(streamId, claim);
    this.countSource(ownerOf(ep), 1);
    changed = this.add(claim) || changed;
    const old = this.lingering.get(ownerOf(ep));
    if (old) {
      clearTimeout(old.timer);
      this.lingering.delete(ownerOf(ep));
      changed = this.remove(old.claim) || changed;
    }
    if (changed) this.changed();
  }

  /** Every endpoint proxies announce, live or in its grace period, with its deadline (what a restart would lose). */
  announced(now = Date.now()): AnnouncedEndpoint[] {
    return [
      ...[...this.live.values()].map((c) => ({ ep: c.ep, until: now + this.opts.graceMs })),
      ...[...this.lingering.values()].map((l) => ({ ep: l.claim.ep, until: l.until })),
    ];
  }

  /**
   * Endpoints a previous run of the control plane had (endpoint-store.ts), back as if their proxies had just
   * disconnected: each lingers until its deadline (never longer: restarts cannot keep a dead endpoint alive) unless
   * its node announces again, so a restart does not empty a service while its proxies reconnect. Nodes already
   * connected keep what they announce now.
   */
  restore(entries: readonly AnnouncedEndpoint[], now = Date.now()): void {
    let changed = false;
    for (const { ep, until } of entries) {
      const owner = ownerOf(ep);
      if (ep.source === 'static' || this.liveBySource.has(owner) || this.lingering.has(owner)) continue;
      const left = Math.min(until - now, this.opts.graceMs);
      if (left <= 0) continue;
      changed = this.linger(ep, left, now) || changed;
    }
    if (changed) this.changed();
  }

  /** Adds ep as a lingering claim of its owner, dropped after ms; true when what a service publishes changed. */
  private linger(ep: Endpoint, ms = this.opts.graceMs, now = Date.now()): boolean {
    const owner = ownerOf(ep);
    const lingeringClaim = this.claim(ClaimRank.Lingering, ep);
    const timer = setTimeout(() => {
      if (this.lingering.get(owner)?.timer !== timer) return;
      this.lingering.delete(owner);
      if (this.remove(lingeringClaim)) this.changed();
    }, ms);
    timer.unref();
    this.lingering.set(owner, { claim: lingeringClaim, timer, until: now + ms });
    return this.add(lingeringClaim);
  }

  /** The stream closed: its endpoint stays for graceMs unless the same node id announces again (or still does). */
  withdraw(streamId: string): void {
    const claim = this.live.get(streamId);
    if (!claim) return;
    const { ep } = claim;
    this.live.delete(streamId);
    this.countSource(ownerOf(ep), -1);
    let changed = false;
    if (!this.liveBySource.has(ownerOf(ep)) && this.opts.graceMs > 0) {
      const prev = this.lingering.get(ownerOf(ep));
      if (prev) {
        clearTimeout(prev.timer);
        changed = this.remove(prev.claim) || changed;
      }
      changed = this.linger(ep) || changed;
    }
    changed = this.remove(claim) || changed;
    if (changed) this.changed();
  }

  /**
   * Endpoints by service, each list deduplicated by address:port and sorted by it. When several claim one
   * address:port, a static entry wins over a live announcement, which wins over one in its grace period.
   */
  endpoints(): ReadonlyMap<string, readonly Endpoint[]> {
    if (this.stale) {
      const next = new Map<string, readonly Endpoint[]>();
      for (const service of [...this.services.keys()].sort(compare)) {
        next.set(service, (this.services.get(service) as ServiceEndpoints).list());
      }
      this.current = next;
      this.stale = false;
    }
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
    const connected = (status: ProxyStatus): void => {
      const { streamId, node } = status;
      const ep = endpointFromNode(node, grpcPeerIp(status.peer));
      if (ep === undefined) return;
      const error = 'error' in ep ? ep.error : this.opts.policy && announcementProblem(this.opts.policy, ep, status);
      if (error !== undefined) {
        this.opts.onInvalid?.({ streamId, nodeId: node.id, error });
        return;
      }
      const announced = ep as Endpoint;
      if (status.identity !== undefined) announced.identity = status.identity;
      this.announce(streamId, announced);
    };
    const unsubscribe = tracker.onEvent((e) => {
      if (e.type === 'connected') connected(e.status);
      else this.withdraw(e.status.streamId);
    });
    for (const status of tracker.list()) {
      if (!this.live.has(status.streamId)) connected(status);
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

  private claim(rank: ClaimRank, ep: Endpoint): Claim {
    return { rank, ep, content: contentOf(ep), seq: this.seq++ };
  }

  private add(claim: Claim): boolean {
    let svc = this.services.get(claim.ep.service);
    if (!svc) {
      svc = new ServiceEndpoints();
      this.services.set(claim.ep.service, svc);
    }
    return svc.add(claim);
  }

  private remove(claim: Claim): boolean {
    const svc = this.services.get(claim.ep.service);
    if (!svc) return false;
    const changed = svc.remove(claim);
    if (svc.empty) this.services.delete(claim.ep.service);
    return changed;
  }

  /** What one service publishes, as comparable text. */
  private rendered(service: string): string {
    return JSON.stringify((this.services.get(service)?.list() ?? []).map(contentOf));
  }

  private countSource(owner: string, delta: 1 | -1): void {
    const n = (this.liveBySource.get(owner) ?? 0) + delta;
    if (n > 0) this.liveBySource.set(owner, n);
    else this.liveBySource.delete(owner);
  }

  private changed(): void {
    this.stale = true;
    for (const l of [...this.listeners]) l();
  }
}
