// The size of an operator resource as the operator API encodes it (admin.v1.Resource in protobuf, as
// resourceToMessage builds it), computed from the document without encoding: the resource-size bound and List pages.

/** Deeper documents are refused outright (a protobuf decoder or a recursive walk would exhaust the stack). */
export const MAX_DOCUMENT_DEPTH = 100;

export class TooDeepError extends Error {
  constructor() {
    super(`nested deeper than ${MAX_DOCUMENT_DEPTH} levels`);
    this.name = 'TooDeepError';
  }
}

/** Every field number in these messages is below 16: one byte of tag. */
const TAG = 1;

function varintSize(n: number): number {
  if (n < 0) return 10;
  let size = 1;
  for (let rest = Math.floor(n / 128); rest > 0; rest = Math.floor(rest / 128)) size++;
  return size;
}

function lengthDelimited(contentBytes: number): number {
  return TAG + varintSize(contentBytes) + contentBytes;
}

function stringField(s: string): number {
  return lengthDelimited(Buffer.byteLength(s, 'utf8'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The content of a google.protobuf.Value holding this JSON value. */
function valueContent(value: unknown, depth: number): number {
  if (depth > MAX_DOCUMENT_DEPTH) throw new TooDeepError();
  switch (typeof value) {
    case 'string':
      return stringField(value);
    case 'number':
    case 'bigint':
      return TAG + 8;
    case 'boolean':
      return TAG + 1;
    case 'object':
      if (value === null) return TAG + 1;
      if (Array.isArray(value)) {
        let list = 0;
        for (const item of value) list += lengthDelimited(valueContent(item, depth + 1));
        return lengthDelimited(list);
      }
      return lengthDelimited(structContent(value as Record<string, unknown>, depth + 1));
    default:
      return TAG + 1;
  }
}

/** One entry of a map<string, Value> (Struct.fields). */
function structEntry(key: string, value: unknown, depth: number): number {
  return lengthDelimited(stringField(key) + lengthDelimited(valueContent(value, depth)));
}

/** The content of a google.protobuf.Struct; undefined members are left out, as toStruct does. */
function structContent(obj: Record<string, unknown>, depth: number): number {
  let size = 0;
  for (const [key, value] of Object.entries(obj)) if (value !== undefined) size += structEntry(key, value, depth);
  return size;
}

/** A string field, or (for a value of the wrong type in an invalid document) what a Struct entry of it would take. */
function stringOrOther(key: string, value: unknown, depth: number): number {
  if (value === undefined) return 0;
  return typeof value === 'string' ? stringField(value) : structEntry(key, value, depth);
}

function labelsContent(labels: Record<string, unknown>, depth: number): number {
  let size = 0;
  for (const [key, value] of Object.entries(labels)) {
    if (value !== undefined) size += lengthDelimited(stringField(key) + stringOrOther(key, value, depth));
  }
  return size;
}

/** The content of admin.v1.Metadata; absent store stamps count as resourceToMessage sends them (0 and ""). */
function metadataContent(meta: Record<string, unknown>, depth: number): number {
  let size = 0;
  for (const [key, value] of Object.entries(meta)) {
    if (key === 'labels' && isRecord(value)) size += labelsContent(value, depth + 1);
    else if (key === 'generation' && typeof value === 'number') size += TAG + varintSize(value);
    else size += stringOrOther(key, value, depth + 1);
  }
  if (meta['generation'] === undefined) size += TAG + 1;
  if (meta['createdAt'] === undefined) size += lengthDelimited(0);
  if (meta['updatedAt'] === undefined) size += lengthDelimited(0);
  return size;
}

/** The size of one member of a document (a top-level field), in bytes of the encoded Resource. */
export function memberSize(key: string, value: unknown): number {
  if (value === undefined) return 0;
  if (key === 'metadata' && isRecord(value)) return lengthDelimited(metadataContent(value, 1));
  if (key === 'spec' && isRecord(value)) return lengthDelimited(structContent(value, 1));
  return stringOrOther(key, value, 1);
}

/**
 * Bytes of the admin.v1.Resource the operator API sends for this document. Exact for resources (what List, Get and
 * Watch send); for an invalid document, members of the wrong type count as Struct entries. Throws TooDeepError.
 */
export function resourceEncodedSize(doc: Record<string, unknown>): number {
  let size = 0;
  for (const [key, value] of Object.entries(doc)) size += memberSize(key, value);
  return size;
}

/** The size a nested value takes where it sits (its field or entry included), for pointing at the largest one. */
export function nestedSize(key: string, value: unknown): number {
  return structEntry(key, value, 1);
}
