// Open-loop HTTP/1.1 load at a constant rate over keep-alive connections, latency without coordinated omission: request
// i is due at start + i/rate and its latency runs from that due time, not from when it was sent, so a stall (no free
// connection, a slow proxy) shows in the tail instead of slowing the sender down (as wrk2 measures; wrk does not).
import net from 'node:net';

export interface ConstantRateOptions {
  port: number;
  /** Host header (the route a proxy picks). */
  host: string;
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** Keep-alive connections the requests share (a request waits for a free one, its wait counted). */
  connections: number;
}

export interface ConstantRateResult {
  /** Completed requests' latencies in ms from their due time, ascending. */
  latencies: Float64Array;
  /** Requests that got no 2xx (a status, a reset or no answer by the end). */
  errors: number;
  /** Why: non-2xx statuses by code, `closed` (the connection closed with the request in flight), `unanswered`. */
  errorKinds: Record<string, number>;
  /** How late the sender was in sending (ms past due, p99): the generator's own share of the latencies. */
  sendLagP99: number;
}

/** The `q` quantile (0..1) of ascending `sorted` by nearest rank, NaN when empty. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** One keep-alive connection: one request in flight; answers are parsed just enough to know where they end. */
class Connection {
  readonly socket: net.Socket;
  /** Due time of the request in flight, undefined when idle. */
  due: number | undefined;
  #buf: Buffer = Buffer.alloc(0);
  #onDone: (conn: Connection, outcome: number | 'closed') => void;

  constructor(
    port: number,
    onDone: (conn: Connection, outcome: number | 'closed') => void,
    onClose: (conn: Connection) => void,
  ) {
    this.#onDone = onDone;
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => this.#onData(d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      if (this.due !== undefined) this.#onDone(this, 'closed');
      this.due = undefined;
      onClose(this);
    });
  }

  send(request: Buffer, due: number): void {
    this.due = due;
    this.socket.write(request);
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    const end = this.#buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let total: number;
    if (length !== null) {
      total = end + 4 + Number(length[1]);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = this.#buf.indexOf('\r\n0\r\n\r\n', end);
      if (last < 0) return;
      total = last + 7;
    } else {
      total = end + 4;
    }
    if (this.#buf.length < total) return;
    this.#buf = this.#buf.subarray(total);
    this.#onDone(this, status);
  }
}

/** Sends `rate` requests per second for `seconds`; resolves when every one was answered (or 5 s after the last). */
export async function runConstantRate(opts: ConstantRateOptions): Promise<ConstantRateResult> {
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: ${opts.host}\r\n\r\n`);
  const total = Math.round(opts.rate * opts.seconds);
  const interval = 1000 / opts.rate;
  const latencies = new Float64Array(total);
  const lags: number[] = [];
  let completed = 0;
  let errors = 0;
  const idle: Connection[] = [];
  const waiting: number[] = [];
  let next = 0;
  let start = 0;
  let finish: () => void = () => undefined;

  // Idle connections are used in turn (first freed, first used): none sits idle long enough for a proxy's idle
  // timeout, and the load spreads over all of them.
  const dispatch = (): void => {
    while (idle.length > 0 && waiting.length > 0) {
      const conn = idle.shift() as Connection;
      if (conn.socket.destroyed) continue;
      const due = waiting.shift() as number;
      lags.push(performance.now() - due);
      conn.send(request, due);
    }
  };
  let stopped = false;
  // A connection the server closed is replaced (the request it carried counts as an error).
  const onClose = (conn: Connection): void => {
    const i = idle.indexOf(conn);
    if (i >= 0) idle.splice(i, 1);
    if (stopped) return;
    // After a pause: a server refusing connections is not hammered with reconnects.
    setTimeout(() => {
      if (stopped) return;
      const fresh = new Connection(opts.port, onDone, onClose);
      conns.push(fresh);
      fresh.socket.once('connect', () => {
        idle.push(fresh);
        dispatch();
      });
    }, 50);
  };
  const errorKinds: Record<string, number> = {};
  const onDone = (conn: Connection, outcome: number | 'closed'): void => {
    const due = conn.due as number;
    conn.due = undefined;
    if (typeof outcome === 'number' && outcome >= 200 && outcome < 300)
      latencies[completed++] = performance.now() - due;
    else {
      errors++;
      errorKinds[String(outcome)] = (errorKinds[String(outcome)] ?? 0) + 1;
    }
    if (!conn.socket.destroyed) idle.push(conn);
    if (completed + errors === total) finish();
    else dispatch();
  };
  const conns = Array.from({ length: opts.connections }, () => new Connection(opts.port, onDone, onClose));
  await Promise.all(
    conns.map(
      (c) =>
        new Promise((resolve, reject) => {
          c.socket.once('connect', resolve);
          c.socket.once('error', reject);
        }),
    ),
  );
  idle.push(...conns);

  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  start = performance.now();
  // The pump: every request whose time has come joins the queue; it sleeps with a timer while the next one is over a
  // millisecond away and polls (setImmediate) when closer, so requests leave within a few µs of their due time.
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) waiting.push(start + next++ * interval);
      dispatch();
      if (next >= total) {
        resolve();
        return;
      }
      const wait = start + next * interval - performance.now();
      if (wait > 1.5) setTimeout(pump, wait - 1);
      else setImmediate(pump);
    };
    pump();
  });
  const grace = setTimeout(finish, 5_000);
  await done;
  clearTimeout(grace);
  stopped = true;
  for (const c of conns) c.socket.destroy();
  const unanswered = total - completed - errors;
  if (unanswered > 0) errorKinds['unanswered'] = unanswered;
  lags.sort((a, b) => a - b);
  return {
    latencies: latencies.subarray(0, completed).sort(),
    errors: errors + unanswered,
    errorKinds,
    sendLagP99: quantile(Float64Array.from(lags), 0.99),
  };
}
