// TCP health checks (Envoy TcpHealthCheck): connect; with no `receive` blocks a connect is a pass (and the socket is
// closed); otherwise send the payload and pass once the reply holds every block in order. A close or error before
// that is a network failure; a reply that never matches runs into the timeout.
import type { Socket } from 'node:net';
import type { TcpHealthProbe } from '../../config/model.ts';
import { errorText, failed, PASSED, type ProbeResult, payloadMatches } from './health-check-state.ts';
import { type ProbeConnection, type ProbeContext, type Prober, type ProbeTarget, plainConnection } from './prober.ts';

export class TcpProber implements Prober {
  private readonly probe: TcpHealthProbe;
  private readonly reuse: boolean;
  private readonly connect: () => ProbeConnection;
  /** The kept connection between checks (only with receive blocks and reuse_connection). */
  private socket: Socket | undefined;
  /** The event that says the connection is usable ('secureConnect' over mTLS). */
  private ready: ProbeConnection['ready'] = 'connect';

  constructor(target: ProbeTarget, probe: TcpHealthProbe, ctx: ProbeContext) {
    this.probe = probe;
    this.reuse = ctx.reuseConnection && probe.receive.length > 0;
    this.connect = ctx.connect ?? (() => plainConnection(target));
  }

  check(signal: AbortSignal): Promise<ProbeResult> {
    const probe = this.probe;
    return new Promise((resolve) => {
      const kept = this.socket;
      const reused = kept !== undefined && !kept.destroyed && kept.readyState === 'open';
      const socket = reused ? kept : this.open();
      const ready = this.ready;
      let received: Buffer = Buffer.alloc(0);
      let done = false;
      const finish = (r: ProbeResult, keep: boolean): void => {
        if (done) return;
        done = true;
        socket.off(ready, onConnect);
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.off('error', onError);
        signal.removeEventListener('abort', onAbort);
        if (!keep) this.drop(socket);
        resolve(r);
      };
      const onConnect = (): void => {
        if (probe.send !== undefined) socket.write(probe.send);
        if (probe.receive.length === 0) finish(PASSED, false);
      };
      const onData = (chunk: Buffer): void => {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        if (payloadMatches(probe.receive, received)) finish(PASSED, this.reuse);
      };
      const onClose = (): void => finish(failed('network', 'connection closed'), false);
      const onError = (err: Error): void => finish(failed('network', errorText(err)), false);
      const onAbort = (): void => finish(failed('network', 'aborted'), false);
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort);
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', onError);
      if (reused) onConnect();
      else socket.once(ready, onConnect);
    });
  }

  close(): void {
    if (this.socket !== undefined) this.drop(this.socket);
  }

  private open(): Socket {
    const { socket, ready } = this.connect();
    this.ready = ready;
    socket.on('error', () => {}); // reported through the check in flight
    socket.unref();
    if (this.reuse) this.socket = socket;
    return socket;
  }

  private drop(socket: Socket): void {
    if (this.socket === socket) this.socket = undefined;
    socket.destroy();
  }
}
