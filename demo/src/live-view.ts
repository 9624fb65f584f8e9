// Renders the demo's live terminal view from the load generator's figures and the sidecars' stats (a pure function).
import type { MeshStats } from './mesh-stats.ts';
import type { ServiceFigures } from './recorder.ts';
import { SERVICES, type ServiceName } from './topology.ts';
import type { TraceStats } from './trace-collector.ts';

export interface ViewState {
  api: string;
  rps: number;
  elapsedS: number;
  /** Seconds left, or undefined when running until Ctrl-C. */
  remainingS: number | undefined;
  windowS: number;
  services: Record<ServiceName, ServiceFigures>;
  versions: Record<string, number>;
  mesh: MeshStats;
  /** Spans received by the demo's own OTLP receiver (undefined when traces go to an endpoint of the user's). */
  traces: TraceStats | undefined;
  /** Key help and suggestions, already worded. */
  hints: string[];
  /** Recent things that happened (newest last). */
  events: string[];
  color: boolean;
}

const pad = (text: string, width: number): string =>
  text.length >= width ? text : text + ' '.repeat(width - text.length);
const padLeft = (text: string, width: number): string =>
  text.length >= width ? text : ' '.repeat(width - text.length) + text;

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms < 10 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function percent(rate: number): string {
  return Number.isFinite(rate) ? `${(rate * 100).toFixed(1)}%` : '-';
}

/** A 20-cell bar: share of v1 (█) against v2 (░). */
function splitBar(v1: number, v2: number): string {
  const total = v1 + v2;
  const cells = total === 0 ? 0 : Math.round((v1 / total) * 20);
  return '█'.repeat(cells) + '░'.repeat(20 - cells);
}

/** `traces: N spans in M traces · widest recent: loadgen → web → orders → payments, 9 spans, 14ms`. */
function traceLine(t: TraceStats | undefined): string {
  if (t === undefined) return 'traces: exported to your OTLP endpoint';
  const widest =
    t.widest === undefined
      ? 'none yet'
      : `${t.widest.services.join(' → ')}, ${t.widest.spans} spans, ${formatMs(t.widest.durationMs)} (trace ${t.widest.traceId.slice(0, 8)}…)`;
  return `traces: ${t.spans} spans in ${t.traces} traces   widest recent: ${widest}`;
}

/** `mTLS: inbound handshakes web 12 · orders 30 · … · plaintext 0 (identities spiffe://cluster.local/ns/default/sa/<service>)`. */
function mtlsLine(tls: MeshStats['tls'], red: (t: string) => string): string {
  const counts = SERVICES.map((s) => `${s} ${tls.handshakes[s]}`).join(' · ');
  const plain = tls.plaintext === 0 ? 'plaintext 0' : red(`plaintext ${tls.plaintext}`);
  return `mTLS: inbound handshakes ${counts} · ${plain}   (identities spiffe://cluster.local/ns/default/sa/<service>)`;
}

export function renderView(v: ViewState): string {
  const bold = (t: string): string => (v.color ? `\x1b[1m${t}\x1b[0m` : t);
  const red = (t: string): string => (v.color ? `\x1b[31m${t}\x1b[0m` : t);
  const green = (t: string): string => (v.color ? `\x1b[32m${t}\x1b[0m` : t);
  const time =
    v.remainingS === undefined
      ? `running ${formatDuration(v.elapsedS)} (Ctrl-C or q stops)`
      : `${formatDuration(v.elapsedS)} elapsed, ${formatDuration(v.remainingS)} left`;
  const lines = [
    `${bold('Trellis demo mesh')}  ${v.rps} req/s to web  ·  ${time}  ·  API ${v.api}`,
    '',
    bold(
      `${pad('SERVICE', 11)}${padLeft('RPS', 7)}${padLeft('SUCCESS', 9)}${padLeft('P50', 9)}${padLeft('P99', 9)}${padLeft('SIDECAR IN/S', 14)}`,
    ),
  ];
  for (const s of SERVICES) {
    const f = v.services[s];
    const success = percent(f.successRate);
    const colored = !Number.isFinite(f.successRate) ? success : f.successRate >= 0.999 ? green(success) : red(success);
    lines.push(
      `${pad(s, 11)}${padLeft(f.rps.toFixed(1), 7)}${' '.repeat(Math.max(0, 9 - success.length))}${colored}` +
        `${padLeft(formatMs(f.p50Ms), 9)}${padLeft(formatMs(f.p99Ms), 9)}${padLeft(v.mesh.inboundRate[s].toFixed(1), 14)}`,
    );
  }
  const v1 = v.versions['v1'] ?? 0;
  const v2 = v.versions['v2'] ?? 0;
  const total = v1 + v2;
  const share = (n: number): string => (total === 0 ? '-' : `${((n / total) * 100).toFixed(1)}%`);
  lines.push(
    '',
    `orders split (last ${v.windowS}s)  v1 ${splitBar(v1, v2)} v2   v1 ${share(v1)} (${v1})  v2 ${share(v2)} (${v2})`,
    `ejections so far: ${v.mesh.ejections}   ejected now: ${
      v.mesh.ejected.length === 0 ? 'none' : red(v.mesh.ejected.map((e) => `${e.instance} (${e.cluster})`).join(', '))
    }`,
    mtlsLine(v.mesh.tls, red),
    traceLine(v.traces),
    '',
    ...v.hints,
  );
  if (v.events.length > 0) lines.push('', ...v.events);
  return `${lines.join('\n')}\n`;
}
