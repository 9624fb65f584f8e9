// Parses operator durations such as "2s", "500ms", "1m30s", "1.5s" into milliseconds.

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
const PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/y;

/** Milliseconds for a duration string, or undefined when it is not one (e.g. "2", "-1s", "abc"). */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
    pos = PART.lastIndex;
  }
  return total;
}
