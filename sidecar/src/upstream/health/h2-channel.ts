// A minimal h2c client for health checks: one HTTP/2 session to a host (kept or per check), one request at a time,
// the response status, headers, trailers and the first bytes of the body.
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { errorText } from './health-check-state.ts';
import type { ProbeConnection, ProbeTarget } from './prober.ts';

export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders | undefined;
  /** At most `maxBody` bytes (all of it when maxBody is 0). */
  body: Buffer;
}

export class H2Channel {
  private readonly host: string;
  private readonly port: number;
  private readonly reuse: boolean;
  private readonly open: (() => ProbeConnection) | undefined;
  private session: ClientHttp2Session | undefined;

  /** `open`: the cluster's way to the host (mesh mTLS where it takes it); absent: h2c. */
  constructor(target: ProbeTarget, reuse: boolean, open?: () => ProbeConnection) {
    this.host = target.address.includes(':') ? `[${target.address}]` : target.address;
    this.port = target.port;
    this.reuse = reuse;
    this.open = open;
  }

  /** One request; resolves with the response or `{ error }` (connect failure, reset, abort). Never rejects. */
  request(
    headers: OutgoingHttpHeaders,
    body: Buffer | undefined,
    signal: AbortSignal,
    maxBody: number,
  ): Promise<H2Response | { error: string }> {
    return new Promise((resolve) => {
      const session = this.connect();
      let done = false;
      const finish = (r: H2Response | { error: string }): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        session.off('error', onSessionError);
        if (!this.reuse || 'error' in r) this.drop(session);
        resolve(r);
      };
      const onAbort = (): void => {
        this.drop(session);
        finish({ error: 'aborted' });
      };
      const onSessionError = (err: unknown): void => finish({ error: errorText(err) });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort);
      session.on('error', onSessionError);
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request(headers, { endStream: body === undefined });
      } catch (err) {
        finish({ error: errorText(err) });
        return;
      }
      let status = 0;
      let responseHeaders: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('response', (h) => {
        responseHeaders = h;
        status = Number(h[':status']);
      });
      stream.on('trailers', (t) => {
        trailers = t;
      });
      stream.on('data', (chunk: Buffer) => {
        if (maxBody > 0 && size >= maxBody) return;
        chunks.push(chunk);
        size += chunk.length;
      });
      stream.on('end', () => {
        const all = Buffer.concat(chunks);
        const bodyBytes = maxBody > 0 ? all.subarray(0, maxBody) : all;
        if (status === 0) finish({ error: 'stream ended without a response' });
        else finish({ status, headers: responseHeaders, trailers, body: bodyBytes });
      });
      stream.on('error', (err) => finish({ error: errorText(err) }));
      stream.on('close', () => {
        if (!done) finish({ error: `stream closed (code ${stream.rstCode})` });
      });
      if (body !== undefined) stream.end(body);
    });
  }

  close(): void {
    if (this.session !== undefined) this.drop(this.session);
  }

  private connect(): ClientHttp2Session {
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const dialed = this.open?.();
    const origin = `${dialed?.tls === true ? 'https' : 'http'}://${this.host}:${this.port}`;
    const session =
      dialed === undefined ? http2.connect(origin) : http2.connect(origin, { createConnection: () => dialed.socket });
    session.on('error', () => {}); // reported through the request in flight
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.unref();
    this.session = session;
    return session;
  }

  private drop(session: ClientHttp2Session): void {
    if (this.session === session) this.session = undefined;
    session.destroy();
  }
}
