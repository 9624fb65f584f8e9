// Parses Prometheus text exposition (format 0.0.4) into samples: name, labels, value. Comments and blank lines skipped.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`bad sample value "${text}"`);
  return n;
}

/** `{a="x",b="y\"z"}` at the start of `text`: the labels and how many characters they took. */
function parseLabels(text: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (text[i] === '}') return [labels, i + 1];
    const name = LABEL_NAME.exec(text.slice(i))?.[0];
    if (name === undefined || text[i + name.length] !== '=' || text[i + name.length + 1] !== '"')
      throw new Error(`bad label at "${text.slice(i, i + 20)}"`);
    i += name.length + 2;
    let value = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const next = text[i + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        i += 2;
      } else {
        value += text[i];
        i++;
      }
    }
    if (i >= text.length) throw new Error('unterminated label value');
    labels[name] = value;
    i++;
  }
}

/**
 * Every sample whose name passes `keep` (default: all). Throws naming the line on malformed input, so a broken
 * scrape is reported rather than read as zeros.
 */
export function parsePrometheusText(text: string, keep: (name: string) => boolean = () => true): PromSample[] {
  const samples: PromSample[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      const name = NAME.exec(line)?.[0];
      if (name === undefined) throw new Error('expected a metric name');
      if (!keep(name)) return;
      let rest = line.slice(name.length);
      let labels: Record<string, string> = {};
      if (rest.startsWith('{')) {
        const [parsed, used] = parseLabels(rest);
        labels = parsed;
        rest = rest.slice(used);
      }
      const [value] = rest.trim().split(/\s+/);
      samples.push({ name, labels, value: parseValue(value ?? '') });
    } catch (err) {
      throw new Error(`line ${index + 1}: ${(err as Error).message}: ${JSON.stringify(raw.slice(0, 120))}`);
    }
  });
  return samples;
}
