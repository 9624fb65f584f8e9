// Prometheus text exposition (format 0.0.4) of the sidecar's stats, with Envoy's metric names and tag labels.
import type { HistogramSnapshot } from '../common/histogram.ts';
import type { StatsSnapshot } from '../common/stats.ts';

/** Names that contain dots themselves (cluster names, stat prefixes), so they can be cut out of dotted stat names. */
export interface StatScopes {
  clusters: readonly string[];
  /** TCP proxy stat prefixes (tcp.<prefix>.…). */
  tcp: readonly string[];
  /** HTTP connection manager stat prefixes (http.<prefix>.…). */
  http: readonly string[];
}

type Kind = 'counter' | 'gauge' | 'histogram';

interface Sample {
  family: string;
  labels: readonly (readonly [string, string])[];
}

const SCOPES: readonly { root: string; label: string; known: keyof StatScopes }[] = [
  { root: 'cluster', label: 'envoy_cluster_name', known: 'clusters' },
  { root: 'tcp', label: 'envoy_tcp_prefix', known: 'tcp' },
  { root: 'http', label: 'envoy_http_conn_manager_prefix', known: 'http' },
];

/** Anything outside [a-zA-Z0-9_:] becomes '_'. */
export function sanitizeMetricName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Cuts `root.<scope>.rest` using the longest known scope name, else the next dotted segment. */
function splitScope(name: string, root: string, known: readonly string[]): [string, string] | undefined {
  const body = name.slice(root.length + 1);
  let best: string | undefined;
  for (const k of known) {
    if (body.startsWith(`${k}.`) && (best === undefined || k.length > best.length)) best = k;
  }
  if (best !== undefined) return [best, body.slice(best.length + 1)];
  const dot = body.indexOf('.');
  return dot > 0 && dot < body.length - 1 ? [body.slice(0, dot), body.slice(dot + 1)] : undefined;
}

/** Envoy's tag extraction for the stats Trellis emits: scope names and response codes become labels. */
export function toSample(name: string, scopes: StatScopes): Sample {
  const labels: [string, string][] = [];
  let rest = name;
  let root = '';
  for (const scope of SCOPES) {
    if (!name.startsWith(`${scope.root}.`)) continue;
    const split = splitScope(name, scope.root, scopes[scope.known]);
    if (split === undefined) break;
    root = `${scope.root}.`;
    labels.push([scope.label, split[0]]);
    rest = split[1];
    break;
  }
  if (root === '') {
    const listener = /^listener\.([^_]+_\d+)\.(.+)$/.exec(name);
    if (listener !== null) {
      root = 'listener.';
      labels.push(['envoy_listener_address', listener[1] as string]);
      rest = listener[2] as string;
    }
  }
  const codeClass = /^(.*_rq_)([1-5])xx$/.exec(rest);
  const code = /^(.*_rq)_([1-5]\d\d)$/.exec(rest);
  if (codeClass !== null) {
    rest = `${codeClass[1]}xx`;
    labels.push(['envoy_response_code_class', codeClass[2] as string]);
  } else if (code !== null) {
    rest = code[1] as string;
    labels.push(['envoy_response_code', code[2] as string]);
  }
  const family = sanitizeMetricName(`envoy_${root}${rest}`);
  return { family: /^[a-zA-Z_:]/.test(family) ? family : `_${family}`, labels };
}

/**
 * Renders counters, gauges and histograms: one `# TYPE` line per family followed by all its samples, families
 * sorted; a family name used by two kinds gets the kind appended to the later one, duplicate series are dropped.
 * Histograms render as `<family>_bucket{…,le="…"}` (cumulative, ending with le="+Inf"), `_sum` and `_count`.
 * Stats with an explicit tag (StatTag) use its family and labels; the rest go through Envoy's tag extraction.
 */
export function prometheusText(snapshot: StatsSnapshot, scopes: StatScopes): string {
  const families = new Map<string, { kind: Kind; series: Map<string, string[]> }>();
  const tags = snapshot.tags;
  const add = (kind: Kind, name: string, render: (family: string, labels: string) => string[]): void => {
    const sample = tags?.get(name) ?? toSample(name, scopes);
    let family = sample.family;
    const existing = families.get(family);
    if (existing !== undefined && existing.kind !== kind) family = `${family}_${kind}`;
    let f = families.get(family);
    if (f === undefined) {
      f = { kind, series: new Map() };
      families.set(family, f);
    }
    const labels = sample.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
    if (!f.series.has(labels)) f.series.set(labels, render(family, labels));
  };
  const scalar = (value: number) => (family: string, labels: string) => [
    `${labels === '' ? family : `${family}{${labels}}`} ${formatValue(value)}`,
  ];
  for (const [name, value] of snapshot.counters) add('counter', name, scalar(value));
  for (const [name, value] of snapshot.gauges) add('gauge', name, scalar(value));
  for (const [name, h] of snapshot.histograms ?? []) add('histogram', name, (f, l) => histogramLines(f, l, h));
  const out: string[] = [];
  for (const family of [...families.keys()].sort()) {
    const f = families.get(family)!;
    out.push(`# TYPE ${family} ${f.kind}`);
    for (const lines of f.series.values()) out.push(...lines);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

function histogramLines(family: string, labels: string, h: HistogramSnapshot): string[] {
  const sep = labels === '' ? '' : `${labels},`;
  const lines: string[] = [];
  for (let i = 0; i < h.bounds.length; i++) {
    lines.push(`${family}_bucket{${sep}le="${formatValue(h.bounds[i] as number)}"} ${h.cumulative[i]}`);
  }
  lines.push(`${family}_bucket{${sep}le="+Inf"} ${h.count}`);
  const plain = labels === '' ? '' : `{${labels}}`;
  lines.push(`${family}_sum${plain} ${formatValue(h.sum)}`, `${family}_count${plain} ${h.count}`);
  return lines;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
