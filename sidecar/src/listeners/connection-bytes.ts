// Connection bytes read at scrape time, live sockets included: downstream for HTTP connection managers
// (`http.<prefix>.downstream_cx_rx_bytes_total` / `_tx_`, a wrapper around the handler factory) and upstream per
// cluster (`cluster.<name>.upstream_cx_rx_bytes_total` / `_tx_`, the sockets of HTTP/1.1 pools and HTTP/2 sessions).
import type { Socket } from 'node:net';
import type { Stats } from '../common/stats.ts';
import type { ConnectionHandler, ConnectionHandlerFactory } from './connection-handler.ts';

const kTracker = Symbol('bytes-tracker');

interface TrackedSocket extends Socket {
  [kTracker]?: ByteTracker;
}

/** Bytes of one stat prefix: closed sockets' totals plus whatever the live ones have moved so far. */
class ByteTracker {
  private readonly live = new Set<Socket>();
  private closedRx = 0;
  private closedTx = 0;
  /** The highest totals reported so far. */
  private maxRx = 0;
  private maxTx = 0;

  constructor(stats: Stats, rxName: string, txName: string) {
    stats.counterFn(rxName, () => this.rx());
    stats.counterFn(txName, () => this.tx());
  }

  add(socket: Socket): void {
    if (socket.destroyed || this.live.has(socket)) return;
    this.live.add(socket);
    (socket as TrackedSocket)[kTracker] = this;
    socket.once('close', onClose);
  }

  closed(socket: Socket): void {
    if (!this.live.delete(socket)) return;
    this.closedRx += socket.bytesRead;
    this.closedTx += socket.bytesWritten;
  }

  rx(): number {
    let n = this.closedRx;
    for (const s of this.live) n += s.bytesRead;
    this.maxRx = Math.max(this.maxRx, n);
    return this.maxRx;
  }

  /**
   * node's bytesWritten includes bytes still queued in the socket, which a destroy drops: the total is kept from
   * going down (a counter that decreases reads as a reset to Prometheus).
   */
  tx(): number {
    let n = this.closedTx;
    for (const s of this.live) n += s.bytesWritten;
    this.maxTx = Math.max(this.maxTx, n);
    return this.maxTx;
  }
}

function onClose(this: Socket): void {
  (this as TrackedSocket)[kTracker]?.closed(this);
}

/** Wraps handler factories so HTTP listeners count downstream connection bytes under their stat prefix. */
export class ConnectionBytes {
  private readonly stats: Stats;
  private readonly trackers = new Map<string, ByteTracker>();

  constructor(stats: Stats) {
    this.stats = stats;
  }

  /** The same factory; HTTP listeners' handlers see each socket registered first. */
  wrap<D>(factory: ConnectionHandlerFactory<D>): ConnectionHandlerFactory<D> {
    return (listener, deps) => {
      const inner = factory(listener, deps);
      if (listener.filter.type !== 'http') return inner;
      const tracker = this.tracker(`http.${listener.filter.http.statPrefix}.`);
      return new CountingHandler(inner, tracker);
    };
  }

  private tracker(prefix: string): ByteTracker {
    let t = this.trackers.get(prefix);
    if (t === undefined) {
      t = new ByteTracker(this.stats, `${prefix}downstream_cx_rx_bytes_total`, `${prefix}downstream_cx_tx_bytes_total`);
      this.trackers.set(prefix, t);
    }
    return t;
  }
}

const upstreamTrackers = new WeakMap<Stats, Map<string, ByteTracker>>();

/** Counts an upstream connection's bytes under its cluster (call once it is connected). */
export function countUpstreamBytes(stats: Stats, cluster: string, socket: Socket): void {
  let byCluster = upstreamTrackers.get(stats);
  if (byCluster === undefined) {
    byCluster = new Map();
    upstreamTrackers.set(stats, byCluster);
  }
  let t = byCluster.get(cluster);
  if (t === undefined) {
    const p = `cluster.${cluster}.`;
    t = new ByteTracker(stats, `${p}upstream_cx_rx_bytes_total`, `${p}upstream_cx_tx_bytes_total`);
    byCluster.set(cluster, t);
  }
  t.add(socket);
}

class CountingHandler implements ConnectionHandler {
  private readonly inner: ConnectionHandler;
  private readonly tracker: ByteTracker;

  constructor(inner: ConnectionHandler, tracker: ByteTracker) {
    this.inner = inner;
    this.tracker = tracker;
  }

  handle(socket: Socket): void {
    this.tracker.add(socket);
    this.inner.handle(socket);
  }

  drain(graceMs: number): Promise<void> {
    return this.inner.drain(graceMs);
  }

  activeConnections(): number {
    return this.inner.activeConnections();
  }
}
