// Test helper: validates Prometheus text exposition line by line (TYPE once per family, contiguous samples, syntax).
import { expect } from 'chai';

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*)\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/;

/** Validates exposition text line by line; returns the families with their kinds. */
export function parsePrometheus(text: string): Map<string, { kind: string; samples: string[] }> {
  const families = new Map<string, { kind: string; samples: string[] }>();
  let current: string | undefined;
  const seen = new Set<string>();
  expect(text.endsWith('\n'), 'ends with a newline').to.equal(true);
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, kind, ...more] = line.slice(7).split(' ');
      expect(more, line).to.deep.equal([]);
      expect(name, line).to.match(METRIC);
      expect(kind, line).to.be.oneOf(['counter', 'gauge', 'untyped', 'histogram', 'summary']);
      expect(families.has(name as string), `duplicate TYPE for ${name}`).to.equal(false);
      families.set(name as string, { kind: kind as string, samples: [] });
      current = name;
      continue;
    }
    expect(line.startsWith('#'), `unexpected comment ${line}`).to.equal(false);
    const m = SAMPLE.exec(line);
    expect(m, `not a sample line: ${JSON.stringify(line)}`).to.not.equal(null);
    const name = m![1] as string;
    expect(name, `sample ${name} outside its family block (${current})`).to.equal(current);
    const series = `${name}{${m![3] ?? ''}}`;
    expect(seen.has(series), `duplicate series ${series}`).to.equal(false);
    seen.add(series);
    families.get(name)!.samples.push(line);
  }
  return families;
}
