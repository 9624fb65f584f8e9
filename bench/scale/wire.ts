// The few fields of a DiscoveryResponse / DeltaDiscoveryResponse the simulator reads, walked on the wire: resource
// bodies stay views into the received bytes and are never decoded unless the simulator follows their references.

/** A Delta resource: name, version, and the Any's value (absent for a resource without a body). */
export interface DeltaResource {
  name: string;
  version: string;
  value: Uint8Array | undefined;
}

export interface DeltaResponse {
  typeUrl: string;
  nonce: string;
  resources: DeltaResource[];
  removed: string[];
}

export interface SotwResponse {
  typeUrl: string;
  nonce: string;
  versionInfo: string;
  /** Each Any's value. */
  resources: Uint8Array[];
}

/** A cursor over one encoded message. */
class Cursor {
  pos: number;
  readonly end: number;
  readonly buf: Buffer;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated varint');
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
  }

  /** Start and end of a length-delimited field's bytes; the cursor moves past them. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new Error('truncated field');
    return [start, this.pos];
  }

  string(): string {
    const [s, e] = this.span();
    return this.buf.toString('utf8', s, e);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.span();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** google.protobuf.Any's value (field 2), as a view. */
function anyValue(buf: Buffer, start: number, end: number): Uint8Array {
  const c = new Cursor(buf, start, end);
  let value: Uint8Array = new Uint8Array(0);
  while (c.pos < c.end) {
    const tag = c.varint();
    if (tag >>> 3 === 2 && (tag & 7) === 2) {
      const [s, e] = c.span();
      value = buf.subarray(s, e);
    } else c.skip(tag & 7);
  }
  return value;
}

function deltaResource(buf: Buffer, start: number, end: number): DeltaResource {
  const c = new Cursor(buf, start, end);
  const r: DeltaResource = { name: '', version: '', value: undefined };
  while (c.pos < c.end) {
    const tag = c.varint();
    const field = tag >>> 3;
    if ((tag & 7) !== 2) c.skip(tag & 7);
    else if (field === 3) r.name = c.string();
    else if (field === 1) r.version = c.string();
    else if (field === 2) {
      const [s, e] = c.span();
      r.value = anyValue(buf, s, e);
    } else c.skip(2);
  }
  return r;
}

export function decodeDelta(buf: Buffer): DeltaResponse {
  const c = new Cursor(buf);
  const out: DeltaResponse = { typeUrl: '', nonce: '', resources: [], removed: [] };
  while (c.pos < c.end) {
    const tag = c.varint();
    const field = tag >>> 3;
    if ((tag & 7) !== 2) c.skip(tag & 7);
    else if (field === 4) out.typeUrl = c.string();
    else if (field === 5) out.nonce = c.string();
    else if (field === 6) out.removed.push(c.string());
    else if (field === 2) {
      const [s, e] = c.span();
      out.resources.push(deltaResource(buf, s, e));
    } else c.skip(2);
  }
  return out;
}

export function decodeSotw(buf: Buffer): SotwResponse {
  const c = new Cursor(buf);
  const out: SotwResponse = { typeUrl: '', nonce: '', versionInfo: '', resources: [] };
  while (c.pos < c.end) {
    const tag = c.varint();
    const field = tag >>> 3;
    if ((tag & 7) !== 2) c.skip(tag & 7);
    else if (field === 4) out.typeUrl = c.string();
    else if (field === 5) out.nonce = c.string();
    else if (field === 1) out.versionInfo = c.string();
    else if (field === 2) {
      const [s, e] = c.span();
      out.resources.push(anyValue(buf, s, e));
    } else c.skip(2);
  }
  return out;
}
