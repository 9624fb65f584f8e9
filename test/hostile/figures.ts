// The figures each attack measured (legitimate latency, sidecar RSS), printed as one table when the run ends.

export interface Figure {
  attack: string;
  /** Legitimate requests sent during the attack, and how many got a 200. */
  sent: number;
  ok: number;
  p50Ms: number;
  p99Ms: number;
  /** Whose RSS: the attacked sidecar, or the control plane for attacks on it. */
  rssOf: string;
  rssBeforeMb: number;
  rssPeakMb: number;
}

const figures: Figure[] = [];

export function recordFigure(f: Figure): void {
  figures.push(f);
}

export function figureTable(rows: readonly Figure[]): string {
  const mb = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '-');
  const lines = [
    '| attack | legit ok / sent | legit p50 (ms) | legit p99 (ms) | RSS of | RSS before (MiB) | RSS peak (MiB) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (f) =>
        `| ${f.attack.replaceAll('|', '\\|')} | ${f.ok} / ${f.sent} | ${f.p50Ms} | ${f.p99Ms} | ${f.rssOf} | ${mb(f.rssBeforeMb)} | ${mb(f.rssPeakMb)} |`,
    ),
  ];
  return lines.join('\n');
}

// A root-level hook (this module is evaluated once, while mocha loads the first test file importing it).
after(() => {
  if (figures.length === 0) return;
  process.stdout.write(
    `\nHostile-input suite figures (legitimate load beside each attack):\n${figureTable(figures)}\n`,
  );
});
