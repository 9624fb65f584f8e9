// HTTP health checks (Envoy HttpHealthCheck): `method path` with the configured Host and headers over HTTP/1.1
// (node:http, keep-alive when connections are reused) or h2c; healthy when the status is expected and the body
// carries the `receive` blocks.
import type { Agent, AgentOptions, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { http } from '../../common/node-http.ts';
import type { HttpHealthProbe } from '../../config/model.ts';
import { H2Channel } from './h2-channel.ts';
import { errorText, failed, inRanges, PASSED, type ProbeResult, payloadMatches } from './health-check-state.ts';
import { defaultAuthority, type ProbeConnection, type ProbeContext, type Prober, type ProbeTarget } from './prober.ts';

export const HEALTH_CHECK_USER_AGENT = 'Trellis/HC';

/** The request headers (lower-case): user-agent, the configured additions, minus the configured removals. */
function requestHeaders(probe: HttpHealthProbe): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': HEALTH_CHECK_USER_AGENT };
  for (const h of probe.requestHeaders) headers[h.name] = h.value;
  for (const name of probe.requestHeadersToRemove) delete headers[name];
  return headers;
}

/** Expected status (and body) → passed; retriable status → counts towards the threshold; anything else fails. */
export function judgeResponse(probe: HttpHealthProbe, status: number, body: Uint8Array): ProbeResult {
  if (inRanges(status, probe.expectedStatuses)) {
    return payloadMatches(probe.receive, body) ? PASSED : failed('active', 'response body does not match');
  }
  if (inRanges(status, probe.retriableStatuses)) return failed('retriable', `status ${status}`);
  return failed('active', `status ${status}`);
}

/** An agent whose connections open through the cluster's transport socket (mesh mTLS where the host takes it). */
class ConnectingAgent extends http.Agent {
  readonly #connect: () => ProbeConnection;

  constructor(connect: () => ProbeConnection, options: AgentOptions) {
    super(options);
    this.#connect = connect;
  }

  override createConnection(): Duplex {
    return this.#connect().socket;
  }
}

export class Http1Prober implements Prober {
  private readonly target: ProbeTarget;
  private readonly probe: HttpHealthProbe;
  private readonly headers: Record<string, string>;
  private readonly agent: Agent;

  constructor(target: ProbeTarget, probe: HttpHealthProbe, ctx: ProbeContext) {
    this.target = target;
    this.probe = probe;
    this.headers = { host: probe.host ?? defaultAuthority(ctx.clusterName, target), ...requestHeaders(probe) };
    this.agent =
      ctx.connect === undefined
        ? new http.Agent({ keepAlive: ctx.reuseConnection, maxSockets: 1 })
        : new ConnectingAgent(ctx.connect, { keepAlive: ctx.reuseConnection, maxSockets: 1 });
  }

  check(signal: AbortSignal): Promise<ProbeResult> {
    const probe = this.probe;
    const limit = probe.receive.length === 0 ? -1 : probe.responseBufferSize;
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: ProbeResult): void => {
        if (done) return;
        done = true;
        resolve(r);
      };
      const req = http.request(
        {
          host: this.target.address,
          port: this.target.port,
          method: probe.method,
          path: probe.path,
          headers: this.headers,
          setHost: false,
          agent: this.agent,
          signal,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (limit < 0 || (limit > 0 && size >= limit)) return;
            chunks.push(chunk);
            size += chunk.length;
          });
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            finish(judgeResponse(probe, status, limit > 0 ? body.subarray(0, limit) : body));
          });
          res.on('error', (err) => finish(failed('network', errorText(err))));
          res.on('close', () => {
            if (!res.complete) finish(failed('network', 'response aborted'));
          });
        },
      );
      req.on('socket', (socket) => socket.unref());
      req.on('error', (err) => finish(failed('network', errorText(err))));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The same check over HTTP/2 (codec_client_type HTTP2). */
export class H2HttpProber implements Prober {
  private readonly probe: HttpHealthProbe;
  private readonly headers: OutgoingHttpHeaders;
  private readonly channel: H2Channel;

  constructor(target: ProbeTarget, probe: HttpHealthProbe, ctx: ProbeContext) {
    this.probe = probe;
    this.headers = {
      ':method': probe.method,
      ':path': probe.path,
      ':authority': probe.host ?? defaultAuthority(ctx.clusterName, target),
      ...requestHeaders(probe),
    };
    this.channel = new H2Channel(target, ctx.reuseConnection, ctx.connect);
  }

  async check(signal: AbortSignal): Promise<ProbeResult> {
    const probe = this.probe;
    const r = await this.channel.request(this.headers, undefined, signal, probe.responseBufferSize);
    if ('error' in r) return failed('network', r.error);
    return judgeResponse(probe, r.status, r.body);
  }

  close(): void {
    this.channel.close();
  }
}
