// Renders top's table (one row per service, then its upstream split) and the ANSI sequence that redraws in place.
import { renderTable } from '../format/table.ts';
import { type ServiceStats, serviceStats } from './mesh-rates.ts';
import type { MeshSnapshot } from './mesh-snapshot.ts';

/** Clear the screen and move the cursor home: each refresh draws over the last. */
export const CLEAR_HOME = '\x1b[2J\x1b[H';

function fixed(value: number | null, digits: number, suffix = ''): string {
  return value === null ? '-' : `${value.toFixed(digits)}${suffix}`;
}

function percent(fraction: number | null): string {
  return fraction === null ? '-' : `${(fraction * 100).toFixed(fraction === 1 ? 0 : 1)}%`;
}

/** "orders|8080|v1 80% / orders|8080|v2 20%" ('-' when callers sent nothing). */
export function formatSplit(stats: ServiceStats): string {
  if (stats.upstreams.length === 0) return '-';
  return stats.upstreams.map((u) => `${u.cluster} ${(u.share * 100).toFixed(0)}%`).join(' / ');
}

/** The table for already computed stats. */
export function renderServiceTable(stats: readonly ServiceStats[]): string {
  const rows = stats.map((s) => [
    s.service,
    String(s.proxies),
    fixed(s.rps, 1),
    percent(s.successRate),
    fixed(s.p50Ms, 1),
    fixed(s.p99Ms, 1),
    fixed(s.tcpCxPerSecond, 1),
    fixed(s.tcpBytesPerSecond === null ? null : s.tcpBytesPerSecond / 1024, 1),
    s.ejectionsActive > 0 ? String(s.ejectionsActive) : '-',
    formatSplit(s),
  ]);
  return renderTable(
    ['SERVICE', 'PROXIES', 'RPS', 'SUCCESS', 'P50 MS', 'P99 MS', 'TCP CX/S', 'TCP KB/S', 'EJECTED', 'UPSTREAM SPLIT'],
    rows,
  );
}

/** The table from two snapshots, with a header line naming the interval (what a live view redraws). */
export function renderTop(before: MeshSnapshot, after: MeshSnapshot): string {
  const seconds = (after.atMs - before.atMs) / 1000;
  const failed = after.proxies.filter((p) => p.error !== '');
  let out = `trellis top: ${after.proxies.length - failed.length} sidecars over ${seconds.toFixed(1)}s at ${new Date(after.atMs).toISOString()}\n\n`;
  const stats = serviceStats(before, after);
  out += stats.length === 0 ? 'No services with sidecars.\n' : renderServiceTable(stats);
  if (failed.length > 0) {
    out += `\nNot read:\n${failed.map((p) => `  ${p.nodeId} (${p.service || '-'}): ${p.error}\n`).join('')}`;
  }
  return out;
}
