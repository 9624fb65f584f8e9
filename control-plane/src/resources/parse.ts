// Splits multi-document YAML (or JSON) text into plain documents; syntax errors name the document and line.
import { LineCounter, parseAllDocuments } from 'yaml';

export interface ParsedDocument {
  /** 1-based position in the text ("document 2"); empty documents keep their number but are dropped. */
  index: number;
  /** 1-based line where the document starts. */
  line: number;
  value: unknown;
}

export interface ParseResult {
  documents: ParsedDocument[];
  errors: string[];
}

/**
 * Parses every document of `text`. A JSON (or YAML) list at the top level of a single document is taken as a list
 * of documents. Errors read `document 2: YAML syntax error at line 7, column 3: …`, one per broken document.
 */
export function parseDocuments(text: string): ParseResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const documents: ParsedDocument[] = [];
  const errors: string[] = [];
  docs.forEach((doc, i) => {
    const index = i + 1;
    const line = lineCounter.linePos(doc.range[0]).line;
    const first = doc.errors[0];
    if (first) {
      const pos = lineCounter.linePos(first.pos[0]);
      const message = first.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '');
      errors.push(`document ${index}: YAML syntax error at line ${pos.line}, column ${pos.col}: ${message}`);
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push(`document ${index}: YAML error at line ${line}: ${(err as Error).message}`);
      return;
    }
    if (value !== null && value !== undefined) documents.push({ index, line, value });
  });
  const only = documents[0];
  if (documents.length === 1 && docs.length === 1 && only && Array.isArray(only.value)) {
    return { documents: only.value.map((value, i) => ({ index: i + 1, line: only.line, value })), errors };
  }
  return { documents, errors };
}
