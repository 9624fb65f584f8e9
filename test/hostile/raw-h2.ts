// A raw h2c connection for attacks: writes any frames, records what the server sends (SETTINGS, GOAWAY, resets).
import net from 'node:net';
import {
  Flag,
  type Frame,
  FrameReader,
  FrameType,
  goaway,
  PREFACE,
  readGoaway,
  readSettings,
  settings,
  settingsAck,
} from './h2-frames.ts';

/** The source address of attack traffic: another loopback address than the legitimate load's 127.0.0.1. */
export const ATTACKER_ADDRESS = '127.0.0.2';

export interface RawH2Options {
  /** Our SETTINGS (sent right after the preface). */
  settings?: [number, number][];
  /** Acknowledge the server's SETTINGS (a well-behaved client does). Default true. */
  ackSettings?: boolean;
}

export class RawH2 {
  readonly socket: net.Socket;
  /** Frames received, in order (payloads kept only for SETTINGS and GOAWAY; counts for the rest). */
  readonly counts = new Map<number, number>();
  readonly serverSettings = new Map<number, number>();
  /** The last GOAWAY the server sent. */
  goaway: { lastStreamId: number; errorCode: number } | undefined;
  /** Error codes of every GOAWAY the server sent, in order. */
  readonly goawayCodes: number[] = [];
  /** Streams the server reset, with the error code. */
  readonly resets = new Map<number, number>();
  /** Streams the server answered with HEADERS. */
  readonly answered = new Set<number>();
  /** Streams the server ended (END_STREAM on HEADERS or DATA). */
  readonly ended = new Set<number>();
  closed = false;
  /** Resolves once the socket is closed (by either side). */
  readonly done: Promise<void>;
  private readonly reader = new FrameReader();
  private readonly waiters = new Set<() => void>();
  private readonly ackSettings: boolean;

  private constructor(socket: net.Socket, opts: RawH2Options) {
    this.socket = socket;
    this.ackSettings = opts.ackSettings ?? true;
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.reader.push(chunk)) this.onFrame(f);
      this.wake();
    });
    socket.on('error', () => {});
    this.done = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Connects from the attacker address and sends the preface and our SETTINGS. */
  static connect(port: number, opts: RawH2Options = {}): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: ATTACKER_ADDRESS });
      socket.setNoDelay(true);
      const conn = new RawH2(socket, opts);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.write(Buffer.concat([PREFACE, settings(opts.settings ?? [])]));
        resolve(conn);
      });
    });
  }

  private onFrame(f: Frame): void {
    this.counts.set(f.type, (this.counts.get(f.type) ?? 0) + 1);
    switch (f.type) {
      case FrameType.SETTINGS:
        if ((f.flags & Flag.ACK) === 0) {
          for (const [k, v] of readSettings(f.payload)) this.serverSettings.set(k, v);
          if (this.ackSettings && !this.socket.destroyed) this.socket.write(settingsAck());
        }
        break;
      case FrameType.GOAWAY:
        this.goaway = readGoaway(f.payload);
        this.goawayCodes.push(this.goaway.errorCode);
        break;
      case FrameType.RST_STREAM:
        this.resets.set(f.streamId, f.payload.readUInt32BE(0));
        break;
      case FrameType.HEADERS:
        this.answered.add(f.streamId);
        if (f.flags & Flag.END_STREAM) this.ended.add(f.streamId);
        break;
      case FrameType.DATA:
        if (f.flags & Flag.END_STREAM) this.ended.add(f.streamId);
        break;
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Writes bytes; resolves once they are flushed, the socket is gone, or `timeoutMs` passed (a peer not reading). */
  write(bytes: Buffer, timeoutMs = 2_000): Promise<void> {
    if (this.socket.destroyed || !this.socket.writable) return Promise.resolve();
    if (this.socket.write(bytes)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** Resolves true once `cond` holds, false when `timeoutMs` passes first (re-checked on every frame and on close). */
  until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!cond()) return;
        finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      this.waiters.add(check);
    });
  }

  /** The server said it is done with this connection (GOAWAY) or closed it. */
  get refused(): boolean {
    return this.goaway !== undefined || this.closed;
  }

  /** Like a polite client: GOAWAY(NO_ERROR), then FIN; resolves once the server closed too (false after 2 s). */
  async closeGracefully(): Promise<boolean> {
    await this.write(goaway(0));
    this.socket.end();
    return this.until(() => this.closed, 2_000);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
