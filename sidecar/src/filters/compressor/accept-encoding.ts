// Content-coding negotiation (RFC 9110 §12.5.3): which of a stream's compressors the client's Accept-Encoding picks.
import type { ContentCoding } from '../../config/model.ts';

/** A compressor a stream offers: its coding, and whether it wins ties of q-values (`choose_first`). */
export interface Offer {
  readonly coding: ContentCoding;
  readonly chooseFirst: boolean;
}

/** The outcome, named as Envoy's compressor stats count it. */
export type Choice =
  | { readonly coding: ContentCoding; readonly by: 'header_compressor_used' | 'header_wildcard' }
  | { readonly coding: undefined; readonly by: 'no_accept_header' | 'header_identity' | 'header_not_valid' | 'none' };

interface Entry {
  readonly name: string;
  readonly q: number;
  readonly index: number;
}

const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** The header's entries; undefined when none is well-formed. */
function parse(header: string): Entry[] | undefined {
  const entries: Entry[] = [];
  let index = 0;
  for (const part of header.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = (rawName ?? '').trim().toLowerCase();
    if (name === '') continue;
    let q = 1;
    let valid = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name);
    for (const param of params) {
      const eq = param.indexOf('=');
      const key = param
        .slice(0, eq < 0 ? param.length : eq)
        .trim()
        .toLowerCase();
      if (key !== 'q') continue;
      const value = eq < 0 ? '' : param.slice(eq + 1).trim();
      if (QVALUE.test(value)) q = Number(value);
      else valid = false;
    }
    if (valid) entries.push({ name, q, index: index++ });
  }
  return entries.length === 0 ? undefined : entries;
}

/**
 * The coding to use: the offer with the highest q-value the client gives it (by name, else through `*`); ties go to a
 * `choose_first` offer, then to the client's order, then to the chain's. `identity` ranked above every offer, or no
 * acceptable offer, means no compression.
 */
export function chooseCoding(acceptEncoding: string | undefined, offers: readonly Offer[]): Choice {
  if (acceptEncoding === undefined) return { coding: undefined, by: 'no_accept_header' };
  const entries = parse(acceptEncoding);
  if (entries === undefined) return { coding: undefined, by: 'header_not_valid' };
  const wildcard = entries.find((e) => e.name === '*');
  let best: { offer: Offer; q: number; index: number; named: boolean } | undefined;
  for (const offer of offers) {
    const named = entries.find((e) => e.name === offer.coding);
    const entry = named ?? wildcard;
    if (entry === undefined || entry.q === 0) continue;
    // A wildcard ranks after every named coding of the same q.
    const index = named === undefined ? entries.length + entry.index : entry.index;
    const better =
      best === undefined ||
      entry.q > best.q ||
      (entry.q === best.q && (offer.chooseFirst !== best.offer.chooseFirst ? offer.chooseFirst : index < best.index));
    if (better) best = { offer, q: entry.q, index, named: named !== undefined };
  }
  const identity = entries.find((e) => e.name === 'identity');
  if (best === undefined || (identity !== undefined && identity.q > best.q))
    return { coding: undefined, by: identity !== undefined ? 'header_identity' : 'none' };
  return { coding: best.offer.coding, by: best.named ? 'header_compressor_used' : 'header_wildcard' };
}
