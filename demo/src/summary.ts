// The machine-readable summary `--json` prints at the end of a run.
import type { MeshStats } from './mesh-stats.ts';
import type { ServiceFigures } from './recorder.ts';
import type { ServiceName } from './topology.ts';
import type { TraceStats } from './trace-collector.ts';

export interface Summary {
  /** host:port of the control plane's operator API during the run. */
  api: string;
  durationSeconds: number;
  rpsTarget: number;
  /** Per service, as its caller saw it (web: the load generator), plus what its sidecars counted inbound. */
  services: Record<
    ServiceName,
    ServiceFigures & { sidecarInbound: number; sidecarInbound5xx: number; sidecarInboundMtlsHandshakes: number }
  >;
  /** Inbound connections any sidecar took in plaintext (0 under the demo's STRICT mTLS). */
  plaintextConnections: number;
  /** Answers from orders per version over the whole run. */
  split: Record<string, number>;
  /** Requests the load generator did not send because too many were in flight. */
  shed: number;
  ejections: { total: number; active: { instance: string; cluster: string }[] };
  /** Per second of the run: requests to web, failures, answers from orders per version. */
  timeline: { second: number; requests: number; failures: number; versions: Record<string, number> }[];
  /** Spans the demo's OTLP receiver got (null when the sidecars exported to an endpoint of the user's). */
  traces: TraceStats | null;
  /** The edge gateway: its HTTPS URL, the CA to trust, what it answered the demo's probe at start. */
  gateway: { url: string; caFile: string; probeStatus: number };
}

const round = (n: number, digits: number): number | null => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

export function buildSummary(input: {
  api: string;
  elapsedS: number;
  rps: number;
  services: Record<ServiceName, ServiceFigures>;
  versions: Record<string, number>;
  mesh: MeshStats;
  shed: number;
  timeline: Summary['timeline'];
  traces: TraceStats | undefined;
  gateway: Summary['gateway'];
}): Summary {
  const services = {} as Summary['services'];
  for (const [name, f] of Object.entries(input.services) as [ServiceName, ServiceFigures][]) {
    services[name] = {
      ...f,
      rps: round(f.rps, 2) as number,
      successRate: round(f.successRate, 4) as number,
      p50Ms: round(f.p50Ms, 2) as number,
      p99Ms: round(f.p99Ms, 2) as number,
      sidecarInbound: input.mesh.inbound[name],
      sidecarInbound5xx: input.mesh.inbound5xx[name],
      sidecarInboundMtlsHandshakes: input.mesh.tls.handshakes[name],
    };
  }
  return {
    api: input.api,
    durationSeconds: round(input.elapsedS, 1) as number,
    rpsTarget: input.rps,
    services,
    split: { v1: 0, v2: 0, ...input.versions },
    shed: input.shed,
    ejections: { total: input.mesh.ejections, active: input.mesh.ejected },
    plaintextConnections: input.mesh.tls.plaintext,
    timeline: input.timeline,
    traces: input.traces ?? null,
    gateway: input.gateway,
  };
}
