// Test helper: validates Prometheus text exposition line by line (TYPE once per family, contiguous samples, syntax,
// histogram buckets cumulative and ending in le="+Inf" = _count), and reads sample values back.
import assert from 'node:assert/strict';

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"/g;
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  kind: string;
  /** The raw sample lines. */
  samples: string[];
  parsed: ParsedSample[];
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(LABEL)) {
    out[m[1] as string] = (m[2] as string).replace(/\\(["\\n])/g, (_all, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}

/** The family a sample belongs to: histogram samples carry _bucket/_sum/_count after the family name. */
function familyOf(name: string, current: string | undefined, kind: string | undefined): string {
  if (kind === 'histogram' || kind === 'summary') {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (name.endsWith(suffix) && name.slice(0, -suffix.length) === current) return current;
    }
  }
  return name;
}

/** Validates exposition text line by line; returns the families with their kinds and samples. */
export function parsePrometheus(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  let current: string | undefined;
  const seen = new Set<string>();
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, kind, ...more] = line.slice(7).split(' ');
      assert.deepEqual(more, [], line);
      assert.match(name as string, METRIC, line);
      assert.ok(['counter', 'gauge', 'untyped', 'histogram', 'summary'].includes(kind as string), line);
      assert.ok(!families.has(name as string), `duplicate TYPE for ${name}`);
      families.set(name as string, { kind: kind as string, samples: [], parsed: [] });
      current = name;
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment ${line}`);
    const m = SAMPLE.exec(line);
    assert.notEqual(m, null, `not a sample line: ${JSON.stringify(line)}`);
    const name = m![1] as string;
    const family = familyOf(name, current, current === undefined ? undefined : families.get(current)?.kind);
    assert.equal(family, current, `sample ${name} outside its family block (${current})`);
    const series = `${name}{${m![3] ?? ''}}`;
    assert.ok(!seen.has(series), `duplicate series ${series}`);
    seen.add(series);
    const raw = m![4] as string;
    const value = raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    assert.ok(raw === 'NaN' || !Number.isNaN(value), `bad value in ${line}`);
    const f = families.get(family)!;
    f.samples.push(line);
    f.parsed.push({ name, labels: parseLabels(m![3] ?? ''), value });
  }
  for (const [name, f] of families) if (f.kind === 'histogram') checkHistogram(name, f);
  return families;
}

/** Per series: buckets with le, cumulative (non-decreasing), the last le="+Inf" equal to _count, and a _sum. */
function checkHistogram(family: string, f: ParsedFamily): void {
  const bySeries = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.parsed) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let entry = bySeries.get(key);
    if (entry === undefined) {
      entry = { buckets: [] };
      bySeries.set(key, entry);
    }
    if (s.name === `${family}_bucket`) {
      assert.equal(typeof le, 'string', `${family}_bucket without le`);
      entry.buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), s.value]);
    } else if (s.name === `${family}_sum`) entry.sum = s.value;
    else entry.count = s.value;
  }
  for (const [key, e] of bySeries) {
    const where = `${family}${key}`;
    assert.ok(e.buckets.length > 0, `${where}: buckets`);
    for (let i = 1; i < e.buckets.length; i++) {
      const [prevLe, prev] = e.buckets[i - 1] as [number, number];
      const [le, count] = e.buckets[i] as [number, number];
      assert.ok(le > prevLe, `${where}: le ascending`);
      assert.ok(count >= prev, `${where}: cumulative`);
    }
    const last = e.buckets[e.buckets.length - 1] as [number, number];
    assert.equal(last[0], Number.POSITIVE_INFINITY, `${where}: last bucket is +Inf`);
    assert.equal(e.count, last[1], `${where}: _count`);
    assert.equal(typeof e.sum, 'number', `${where}: _sum`);
  }
}

/** The value of the one sample `name` whose labels include `labels` (undefined when none matches). */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families.values()) {
    for (const s of f.parsed) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
