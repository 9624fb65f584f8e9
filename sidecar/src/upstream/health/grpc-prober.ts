// gRPC health checks (Envoy GrpcHealthCheck): grpc.health.v1.Health/Check over h2c; healthy only for HTTP 200,
// grpc-status 0 and SERVING. Wrong answers fail the host at once; connection trouble counts towards the threshold.
import type { OutgoingHttpHeaders } from 'node:http2';
import type { GrpcHealthProbe } from '../../config/model.ts';
import {
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  grpcFrame,
  grpcUnframe,
  HEALTH_CHECK_PATH,
  ServingStatus,
} from './grpc-health-messages.ts';
import { H2Channel } from './h2-channel.ts';
import { failed, PASSED, type ProbeResult } from './health-check-state.ts';
import { HEALTH_CHECK_USER_AGENT } from './http-prober.ts';
import { defaultAuthority, type ProbeContext, type Prober, type ProbeTarget } from './prober.ts';

const STATUS_NAMES: Readonly<Record<number, string>> = {
  [ServingStatus.UNKNOWN]: 'UNKNOWN',
  [ServingStatus.NOT_SERVING]: 'NOT_SERVING',
  [ServingStatus.SERVICE_UNKNOWN]: 'SERVICE_UNKNOWN',
};

export class GrpcProber implements Prober {
  private readonly headers: OutgoingHttpHeaders;
  private readonly body: Buffer;
  private readonly channel: H2Channel;

  constructor(target: ProbeTarget, probe: GrpcHealthProbe, ctx: ProbeContext) {
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': HEALTH_CHECK_PATH,
      ':authority': probe.authority ?? defaultAuthority(ctx.clusterName, target),
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': HEALTH_CHECK_USER_AGENT,
    };
    for (const m of probe.initialMetadata) headers[m.name] = m.value;
    this.headers = headers;
    this.body = grpcFrame(encodeHealthCheckRequest(probe.serviceName));
    this.channel = new H2Channel(target, ctx.reuseConnection, ctx.connect);
  }

  async check(signal: AbortSignal): Promise<ProbeResult> {
    const r = await this.channel.request(this.headers, this.body, signal, 0);
    if ('error' in r) return failed('network', r.error);
    if (r.status !== 200) return failed('active', `HTTP status ${r.status}`);
    const contentType = String(r.headers['content-type'] ?? '');
    if (!contentType.startsWith('application/grpc')) return failed('active', `content-type ${contentType || '(none)'}`);
    // Trailers-only answers carry grpc-status in the headers.
    const grpcStatus = r.trailers?.['grpc-status'] ?? r.headers['grpc-status'];
    if (grpcStatus === undefined) return failed('active', 'no grpc-status');
    if (String(grpcStatus) !== '0') {
      const message = r.trailers?.['grpc-message'] ?? r.headers['grpc-message'] ?? '';
      return failed('active', `grpc-status ${String(grpcStatus)} ${grpcMessage(String(message))}`.trim());
    }
    const message = grpcUnframe(r.body);
    const status = message === undefined ? undefined : decodeHealthCheckResponse(message);
    if (status === undefined) return failed('active', 'malformed HealthCheckResponse');
    if (status !== ServingStatus.SERVING) return failed('active', STATUS_NAMES[status] ?? `status ${status}`);
    return PASSED;
  }

  close(): void {
    this.channel.close();
  }
}

/** grpc-message is percent-encoded. */
function grpcMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
