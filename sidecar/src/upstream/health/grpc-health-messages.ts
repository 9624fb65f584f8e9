// The two grpc.health.v1 messages, hand-encoded (HealthCheckRequest{service=1}, HealthCheckResponse{status=1}),
// and gRPC length-prefixed framing.

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

/** grpc.health.v1.HealthCheckResponse.ServingStatus. */
export const ServingStatus = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
} as const;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** HealthCheckRequest { string service = 1; } (empty service = the server as a whole). */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const bytes = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a, ...varint(bytes.length)]), bytes]);
}

/** Reads a varint at `pos`; returns [value, next position] or undefined when truncated. */
function readVarint(buf: Uint8Array, pos: number): [number, number] | undefined {
  let value = 0;
  let shift = 0;
  for (let i = pos; i < buf.length && shift < 64; i++) {
    const b = buf[i] as number;
    if (shift < 32) value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

/** HealthCheckResponse.status (UNKNOWN when absent); undefined for bytes that are not a valid message. */
export function decodeHealthCheckResponse(buf: Uint8Array): number | undefined {
  let status: number = ServingStatus.UNKNOWN;
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    if (tag === undefined) return undefined;
    const [key, next] = tag;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    pos = next;
    if (wire === 0) {
      const v = readVarint(buf, pos);
      if (v === undefined) return undefined;
      if (field === 1) status = v[0];
      pos = v[1];
    } else if (wire === 2) {
      const len = readVarint(buf, pos);
      if (len === undefined || len[1] + len[0] > buf.length) return undefined;
      pos = len[1] + len[0];
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      return undefined;
    }
  }
  return pos === buf.length ? status : undefined;
}

/** One uncompressed gRPC message: flag 0, 4-byte big-endian length, bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** The first message of a gRPC body; undefined when incomplete or compressed. */
export function grpcUnframe(body: Uint8Array): Uint8Array | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const len = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32BE(1);
  if (body.length < 5 + len) return undefined;
  return body.subarray(5, 5 + len);
}
