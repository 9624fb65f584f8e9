// Reads the sidecars' admin endpoints: inbound request counters from /stats/prometheus, ejected hosts from /clusters.
import { type PromSample, parsePrometheusText } from '@trellis/control-plane/common/prometheus-text.ts';

/** The samples of a /stats/prometheus page (the control plane's parser); undefined when the page does not parse. */
export function promSamples(text: string): PromSample[] | undefined {
  try {
    return parsePrometheusText(text);
  } catch {
    return undefined;
  }
}

/** Sum of every sample of a family whose labels include all of `labels`. */
export function sum(samples: readonly PromSample[], family: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== family) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** Hosts outlier detection ejected, from /clusters text (`cluster::host:port::health_flags::/failed_outlier_check`). */
export function ejectedHosts(clustersText: string): { cluster: string; host: string }[] {
  const out: { cluster: string; host: string }[] = [];
  for (const line of clustersText.split('\n')) {
    const m = /^(.+)::([^:]+:\d+)::health_flags::(.*)$/.exec(line);
    if (m !== null && (m[3] as string).includes('failed_outlier_check'))
      out.push({ cluster: m[1] as string, host: m[2] as string });
  }
  return out;
}

/** GET an admin path; undefined when the sidecar does not answer within 1 s (it may be stopped on purpose). */
export async function admin(port: number, path: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}
