// A frame-level HTTP/2 fuzzer against a real sidecar's h2c listeners (fast-check): random valid-ish frame sequences on
// fresh connections beside a legitimate load; the sidecar must stay up and serve an HTTP/2 request afterwards.
// FUZZ_SEED and FUZZ_RUNS explore further than the fixed CI seed.
import { expect } from 'chai';
import fc from 'fast-check';
import { underAttack } from './attack.ts';
import * as F from './h2-frames.ts';
import { type HostileMesh, h2Get, startHostileMesh } from './hostile-mesh.ts';
import { RawH2 } from './raw-h2.ts';

const HOST = 'web:8080';
const SEED = Number(process.env['FUZZ_SEED'] ?? 20231010);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);

const streamId = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 3, 5, 7) },
  { weight: 1, arbitrary: fc.constantFrom(0, 2, 4, 0x7fffffff) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x7fffffff }) },
);
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const u32 = fc.oneof(fc.constantFrom(0, 1, 65_535, 16_384, 0x7fffffff, 0xffffffff), fc.nat());

/** Header fields: mostly a sane request, with odd names, values, pseudo-headers and orders mixed in. */
const field = fc.oneof(
  fc.constantFrom<[string, string]>(
    [':method', 'GET'],
    [':method', 'POST'],
    [':method', 'CONNECT'],
    [':path', '/fuzz'],
    [':path', ''],
    [':path', '*'],
    [':scheme', 'http'],
    [':authority', HOST],
    [':status', '200'],
    [':protocol', 'websocket'],
    ['content-length', '5'],
    ['content-length', '-1'],
    ['te', 'trailers'],
    ['te', 'gzip'],
    ['connection', 'close'],
    ['transfer-encoding', 'chunked'],
    ['host', 'elsewhere:1'],
    ['upgrade', 'h2c'],
    ['cookie', 'a=b'],
  ),
  fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 24 })),
);
const block = fc.oneof(
  { weight: 3, arbitrary: fc.constant(F.requestBlock('GET', HOST, '/fuzz')) },
  { weight: 3, arbitrary: fc.array(field, { maxLength: 8 }).map((f) => F.requestBlock('POST', HOST, '/fuzz', f)) },
  { weight: 2, arbitrary: fc.array(field, { maxLength: 10 }).map((f) => F.headerBlock(f)) },
  { weight: 1, arbitrary: bytes(64) },
);

/** One frame, mostly well-formed for its type, sometimes not (stream ids anywhere). */
const frameArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(streamId, block, fc.boolean(), fc.boolean())
    .map(([id, b, endStream, endHeaders]) => F.headers(id, b, { endStream, endHeaders })),
  fc.tuple(streamId, bytes(100), fc.boolean()).map(([id, body, end]) => F.data(id, body, end)),
  fc.tuple(streamId, u32).map(([id, code]) => F.rstStream(id, code)),
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: 10 }), u32), { maxLength: 4 })
    .map((values) => F.settings(values as [number, number][])),
  fc.constant(F.settingsAck()),
  fc.tuple(bytes(8), fc.boolean()).map(([d, ack]) => F.ping(Buffer.concat([d, Buffer.alloc(8)]).subarray(0, 8), ack)),
  fc.tuple(streamId, u32).map(([id, inc]) => F.windowUpdate(id, inc)),
  fc.tuple(streamId, block, fc.boolean()).map(([id, b, end]) => F.continuation(id, b, end)),
  fc.tuple(streamId, u32).map(([id, code]) => F.goaway(id, code)),
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), streamId, bytes(32))
    .map(([type, flags, id, payload]) => F.frame(type, flags, id, payload)),
);

/**
 * A step of a mostly valid client: open the next stream (HEADERS, maybe split into CONTINUATION frames), send DATA
 * on or reset the latest stream, update windows, or one arbitrary frame. Stream ids follow the protocol unless the
 * arbitrary frame says otherwise, so sequences get past the first frame and reach the sidecar's stream handling.
 */
type Step = (latest: number) => { bytes: Buffer; opens: boolean };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(block, fc.boolean(), fc.boolean()).map(
      ([b, endStream, split]): Step =>
        (latest) => {
          const id = latest + 2;
          if (!split || b.length < 2) return { bytes: F.headers(id, b, { endStream }), opens: true };
          const half = b.length >> 1;
          const bytes = Buffer.concat([
            F.headers(id, b.subarray(0, half), { endStream, endHeaders: false }),
            F.continuation(id, b.subarray(half), true),
          ]);
          return { bytes, opens: true };
        },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(bytes(200), fc.boolean()).map(
      ([body, end]): Step =>
        (latest) => ({ bytes: latest > 0 ? F.data(latest, body, end) : F.ping(), opens: false }),
    ),
  },
  {
    weight: 2,
    arbitrary: u32.map(
      (code): Step =>
        (latest) => ({ bytes: latest > 0 ? F.rstStream(latest, code) : F.ping(), opens: false }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 1 << 20 })).map(
      ([conn, inc]): Step =>
        (latest) => ({ bytes: F.windowUpdate(conn || latest < 0 ? 0 : latest, inc), opens: false }),
    ),
  },
  {
    weight: 1,
    arbitrary: frameArb.map(
      (f): Step =>
        () => ({ bytes: f, opens: false }),
    ),
  },
);

/** The frames of a sequence of steps, stream ids assigned in order. */
function framesOf(steps: Step[]): Buffer[] {
  let latest = -1;
  return steps.map((step) => {
    const { bytes, opens } = step(latest);
    if (opens) latest += 2;
    return bytes;
  });
}

describe('hostile: HTTP/2 frame fuzzer', function () {
  this.timeout(180_000);
  let mesh: HostileMesh;

  before(async () => {
    mesh = await startHostileMesh();
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
  });

  for (const listener of ['outbound', 'inbound'] as const) {
    it(`${listener} h2c listener: ${RUNS} random frame sequences, the sidecar stays up and serves afterwards`, async () => {
      const target = listener === 'outbound' ? mesh.client : mesh.webSidecar;
      const port = listener === 'outbound' ? target.outboundPort : target.inboundPort;
      let runs = 0;
      await underAttack(
        mesh,
        {
          name: `h2 frame fuzzer, ${RUNS} sequences (${listener})`,
          target,
          load: { port },
          detail: () => `${runs} runs`,
        },
        async () => {
          await fc.assert(
            fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 24 }), async (steps) => {
              const frames = framesOf(steps);
              runs++;
              const c = await RawH2.connect(port);
              try {
                await c.write(Buffer.concat([...frames, F.ping(Buffer.from('fuzzdone'))]));
                // Done when the server answered our last PING, closed the connection, or took a second.
                await c.until(() => (c.counts.get(F.FrameType.PING) ?? 0) > 0 || c.closed, 1_000);
                if (!c.closed) {
                  // A polite goodbye: cancel every stream the sequence may have opened, then GOAWAY and FIN.
                  const opened = new Set(
                    frames.filter((f) => f[3] === F.FrameType.HEADERS).map((f) => f.readUInt32BE(5)),
                  );
                  await c.write(Buffer.concat([...opened].filter((id) => id > 0).map((id) => F.rstStream(id))));
                  await c.closeGracefully();
                }
              } finally {
                c.destroy();
              }
              expect(target.death(), target.death()).to.equal(undefined);
            }),
            { seed: SEED, numRuns: RUNS, endOnFailure: true },
          );
        },
      );
      expect(await h2Get(port, HOST, '/after-fuzz')).to.equal(200);
    });
  }
});
