// Reads the sidecars' admin endpoints: inbound request counters from /stats/prometheus, ejected hosts from /clusters.

/** Prometheus text → value per `name{labels}` series (comments skipped). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    if (space > 0 && Number.isFinite(value)) out.set(line.slice(0, space), value);
  }
  return out;
}

/** Sum of every series of a family whose labels include all of `labels` (`key="value"` strings). */
export function sum(series: Map<string, number>, family: string, labels: string[] = []): number {
  let total = 0;
  for (const [key, value] of series) {
    if (!key.startsWith(`${family}{`) && key !== family) continue;
    if (labels.every((l) => key.includes(l))) total += value;
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
