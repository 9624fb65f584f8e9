// A Service's `spec.sidecar` connection and stream limits reach its sidecar: what the control plane accepts and emits
// is what the sidecar decodes (never NACKed), and end to end a real sidecar advertises the HTTP/2 stream limit,
// refuses connections past maxConnections and answers a trickled head with 408 at requestHeadersTimeout.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SidecarParams } from '@trellis/node-contract';
import { anyOf, decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { parseDuration } from '../control-plane/src/resources/duration.ts';
import type { SidecarOptions } from '../control-plane/src/resources/types.ts';
import { validateResource } from '../control-plane/src/resources/validate/validate.ts';
import { mesh, service } from '../control-plane/src/translator/fixtures.ts';
import { translateWithWarnings } from '../control-plane/src/translator/translate.ts';
import { HTTP_LIMIT_DEFAULTS } from '../sidecar/src/config/decode-http-limits.ts';
import { decodeListener } from '../sidecar/src/config/decode-listener.ts';
import type { HttpConnectionManagerConfig, ListenerConfig } from '../sidecar/src/config/model.ts';
import { CONNECTION_LIMIT_DEFAULTS } from '../sidecar/src/listeners/connection-gate.ts';
import { type App, startHttpApp } from './helpers/apps.ts';
import { eventually } from './helpers/eventually.ts';
import { BIN, type ControlPlaneProcess, run, startControlPlaneProcess } from './helpers/processes.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

const PARAMS: SidecarParams = {
  service: 'limited',
  appPort: 8080,
  inboundAddress: '127.0.0.1',
  inboundPort: 15006,
  outboundPort: 15001,
  tcpUpstreams: [],
};

/** The sidecar's reading of the inbound and outbound listeners translated for a Service with these options. */
function sidecarReads(sidecar: SidecarOptions | undefined): ListenerConfig[] {
  const spec = { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' as const }], ...(sidecar && { sidecar }) };
  const doc = { apiVersion: 'trellis.dev/v1', kind: 'Service', metadata: { name: 'limited' }, spec };
  expect(validateResource(doc, 'limited').errors).to.deep.equal([]);
  const { resources } = translateWithWarnings(mesh({ services: [service('limited', spec)] }), 'sidecar', PARAMS);
  return ['inbound', 'outbound'].map((name) => {
    const listener = resources.listener.find((l) => l['name'] === name) ?? {};
    const decoded = decodeListener(decodeAny(anyOf(TYPE_URLS.listener, listener)), '1');
    if ('error' in decoded) throw new Error(decoded.error);
    if (decoded.value === null) throw new Error(`${name}: decoded to nothing`);
    return decoded.value;
  });
}

function hcmOf(listener: ListenerConfig): HttpConnectionManagerConfig {
  if (listener.filter.type !== 'http') throw new Error(`${listener.name} is not HTTP`);
  return listener.filter.http;
}

/** The limit fields of an HCM as the sidecar applies them. */
function limitsOf(hcm: HttpConnectionManagerConfig) {
  const { requestTimeoutMs, streamIdleTimeoutMs, maxRequestHeadersKb, maxHeadersCount, limits } = hcm;
  return { requestTimeoutMs, streamIdleTimeoutMs, maxRequestHeadersKb, maxHeadersCount, ...limits };
}

describe('sidecar limits: what the control plane emits, the sidecar decodes', () => {
  it('no limits set: the sidecar applies its own defaults on both listeners', () => {
    for (const l of sidecarReads(undefined)) {
      expect(l.maxConnections, l.name).to.equal(undefined);
      expect(limitsOf(hcmOf(l)), l.name).to.deep.equal({
        requestTimeoutMs: 0,
        streamIdleTimeoutMs: 300_000,
        maxRequestHeadersKb: 60,
        maxHeadersCount: 100,
        ...HTTP_LIMIT_DEFAULTS,
      });
    }
  });

  it('docs/resources.md states the defaults the sidecar applies', () => {
    const md = readFileSync(new URL('../docs/resources.md', import.meta.url), 'utf8');
    const table = md.slice(md.indexOf('#### Connection and stream limits'));
    /** The default column of a field's row: its first `code` value (durations in ms), 0 for "off". */
    const documented = (field: string): number => {
      const cells = table
        .split('\n')
        .find((l) => l.startsWith(`| \`${field}\` `))
        ?.split('|')
        .map((c) => c.trim());
      const text = cells?.[3];
      if (text === undefined) throw new Error(`no row for ${field} in docs/resources.md`);
      if (text === 'off') return 0;
      const code = /^`([^`]+)`/.exec(text)?.[1] ?? '';
      return /^\d+$/.test(code) ? Number(code) : (parseDuration(code) ?? Number.NaN);
    };
    const [inbound] = sidecarReads(undefined);
    if (inbound === undefined) throw new Error('no inbound listener');
    const applied = limitsOf(hcmOf(inbound));
    expect({
      requestHeadersTimeout: documented('requestHeadersTimeout'),
      requestTimeout: documented('requestTimeout'),
      streamIdleTimeout: documented('streamIdleTimeout'),
      idleTimeout: documented('idleTimeout'),
      maxRequestsPerConnection: documented('maxRequestsPerConnection'),
      maxRequestHeadersKb: documented('maxRequestHeadersKb'),
      maxHeadersCount: documented('maxHeadersCount'),
      maxConcurrentStreams: documented('http2.maxConcurrentStreams'),
      initialStreamWindowSize: documented('http2.initialStreamWindowSize'),
      initialConnectionWindowSize: documented('http2.initialConnectionWindowSize'),
      maxConnections: documented('maxConnections'),
    }).to.deep.equal({
      requestHeadersTimeout: applied.requestHeadersTimeoutMs,
      requestTimeout: applied.requestTimeoutMs,
      streamIdleTimeout: applied.streamIdleTimeoutMs,
      idleTimeout: applied.idleTimeoutMs,
      maxRequestsPerConnection: applied.maxRequestsPerConnection,
      maxRequestHeadersKb: applied.maxRequestHeadersKb,
      maxHeadersCount: applied.maxHeadersCount,
      maxConcurrentStreams: applied.maxConcurrentStreams,
      initialStreamWindowSize: applied.initialStreamWindowSize,
      initialConnectionWindowSize: applied.initialConnectionWindowSize,
      maxConnections: CONNECTION_LIMIT_DEFAULTS.maxConnections,
    });
  });

  const cases: [string, SidecarOptions, ReturnType<typeof limitsOf> & { maxConnections: number }][] = [
    [
      'typical values',
      {
        requestHeadersTimeout: '200ms',
        requestTimeout: '1m30s',
        streamIdleTimeout: '0s',
        idleTimeout: '1.5s',
        maxRequestsPerConnection: 1000,
        maxRequestHeadersKb: 96,
        maxHeadersCount: 50,
        http2: { maxConcurrentStreams: 7, initialStreamWindowSize: 1_048_576, initialConnectionWindowSize: 4_194_304 },
        maxConnections: 3,
      },
      {
        requestTimeoutMs: 90_000,
        streamIdleTimeoutMs: 0,
        maxRequestHeadersKb: 96,
        maxHeadersCount: 50,
        requestHeadersTimeoutMs: 200,
        idleTimeoutMs: 1500,
        maxRequestsPerConnection: 1000,
        maxConcurrentStreams: 7,
        initialStreamWindowSize: 1_048_576,
        initialConnectionWindowSize: 4_194_304,
        maxConnections: 3,
      },
    ],
    [
      'the lowest values accepted',
      {
        requestHeadersTimeout: '0s',
        requestTimeout: '0s',
        streamIdleTimeout: '0s',
        idleTimeout: '0s',
        maxRequestsPerConnection: 0,
        maxRequestHeadersKb: 1,
        maxHeadersCount: 1,
        http2: { maxConcurrentStreams: 1, initialStreamWindowSize: 65_535, initialConnectionWindowSize: 65_535 },
        maxConnections: 1,
      },
      {
        requestTimeoutMs: 0,
        streamIdleTimeoutMs: 0,
        maxRequestHeadersKb: 1,
        maxHeadersCount: 1,
        requestHeadersTimeoutMs: 0,
        idleTimeoutMs: 0,
        maxRequestsPerConnection: 0,
        maxConcurrentStreams: 1,
        initialStreamWindowSize: 65_535,
        initialConnectionWindowSize: 65_535,
        maxConnections: 1,
      },
    ],
    [
      'the highest values accepted',
      {
        requestHeadersTimeout: '596h',
        requestTimeout: '596h',
        streamIdleTimeout: '596h',
        idleTimeout: '596h',
        maxRequestsPerConnection: 2 ** 31 - 1,
        maxRequestHeadersKb: 8192,
        maxHeadersCount: 2 ** 31 - 1,
        http2: {
          maxConcurrentStreams: 2 ** 31 - 1,
          initialStreamWindowSize: 2 ** 31 - 1,
          initialConnectionWindowSize: 2 ** 31 - 1,
        },
        maxConnections: 2 ** 31 - 1,
      },
      {
        requestTimeoutMs: 596 * 3_600_000,
        streamIdleTimeoutMs: 596 * 3_600_000,
        maxRequestHeadersKb: 8192,
        maxHeadersCount: 2 ** 31 - 1,
        requestHeadersTimeoutMs: 596 * 3_600_000,
        idleTimeoutMs: 596 * 3_600_000,
        maxRequestsPerConnection: 2 ** 31 - 1,
        maxConcurrentStreams: 2 ** 31 - 1,
        initialStreamWindowSize: 2 ** 31 - 1,
        initialConnectionWindowSize: 2 ** 31 - 1,
        maxConnections: 2 ** 31 - 1,
      },
    ],
  ];
  for (const [label, options, expected] of cases) {
    it(`${label}: applied as given on both listeners`, () => {
      const { maxConnections, ...limits } = expected;
      for (const l of sidecarReads(options)) {
        expect(l.maxConnections, l.name).to.equal(maxConnections);
        expect(limitsOf(hcmOf(l)), l.name).to.deep.equal(limits);
      }
    });
  }
});

const SERVICE = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: limited }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
`;

const LIMITED = `${SERVICE}  sidecar:
    http2: { maxConcurrentStreams: 7 }
    maxConnections: 3
    requestHeadersTimeout: 200ms
`;

/** A raw TCP client that keeps what it receives. */
class RawClient {
  received = '';
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  private readonly waiters = new Set<() => void>();
  private ended = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.received += d;
      this.wake();
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Resolves once what arrived (from offset `from` on) matches `re`; rejects if the connection closes first. */
  until(re: RegExp, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const text = this.received.slice(from);
        if (re.test(text)) {
          this.waiters.delete(check);
          resolve(text);
        } else if (this.ended) {
          this.waiters.delete(check);
          reject(new Error(`closed before ${re}; received ${JSON.stringify(this.received)}`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends a request for a 204 (no body) and waits for its response head. */
  async roundTrip(): Promise<string> {
    const from = this.received.length;
    this.socket.write('GET /status/204 HTTP/1.1\r\nHost: limited\r\n\r\n');
    return this.until(/\r\n\r\n$/, from);
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** The SETTINGS a sidecar listener sends an h2c client. */
async function h2Settings(port: number): Promise<http2.Settings> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<http2.Settings>((resolve, reject) => {
      session.once('remoteSettings', resolve);
      session.once('error', reject);
      // A connection taken by a listener that is being replaced may close before SETTINGS: the caller tries again.
      session.once('close', () => reject(new Error('closed before SETTINGS')));
      session.setTimeout(2000, () => reject(new Error('no SETTINGS within 2 s')));
    });
  } finally {
    session.destroy();
  }
}

describe('sidecar limits from a Service (end to end)', function () {
  this.timeout(60_000);
  let dataDir: string;
  let cp: ControlPlaneProcess;
  let app: App;
  let sidecar: SidecarProcess;
  const clients: RawClient[] = [];

  const apply = async (yaml: string): Promise<void> => {
    const r = await run(BIN.trellisctl, ['--api', cp.api, 'apply', '-f', '-'], yaml);
    if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
  };
  /** A listener stat of the sidecar's inbound listener (`listener.127.0.0.1_<port>.<name>`). */
  const inboundStat = async (name: string): Promise<number> => {
    const scope = `listener.127.0.0.1_${sidecar.inboundPort}.${name}`;
    const text = await (await sidecar.admin(`/stats?filter=${encodeURIComponent(`^${scope}$`)}`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${scope}: `));
    if (line === undefined) throw new Error(`no ${scope} in ${text}`);
    return Number(line.slice(scope.length + 2));
  };
  const noConnectionsOpen = () => eventually(async () => expect(await inboundStat('downstream_cx_active')).to.equal(0));
  const connect = (): RawClient => {
    const c = new RawClient(sidecar.inboundPort);
    clients.push(c);
    return c;
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-limits-'));
    cp = await startControlPlaneProcess(dataDir);
    await apply(SERVICE);
    app = await startHttpApp('limited');
    sidecar = await startSidecar({ service: 'limited', xds: `127.0.0.1:${cp.xdsInsecurePort}`, appPort: app.port });
  });

  after(async () => {
    for (const c of clients) c.close();
    await sidecar?.stop();
    await cp?.daemon.stop();
    await app?.close();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('applying the limits changes the HTTP/2 SETTINGS both listeners advertise: 100 streams, then 7', async () => {
    for (const port of [sidecar.inboundPort, sidecar.outboundPort]) {
      expect((await h2Settings(port)).maxConcurrentStreams).to.equal(100);
    }
    await apply(LIMITED);
    for (const port of [sidecar.inboundPort, sidecar.outboundPort]) {
      await eventually(async () => expect((await h2Settings(port)).maxConcurrentStreams).to.equal(7));
    }
  });

  it('refuses a 4th concurrent connection at once and keeps the 3 established ones', async () => {
    await noConnectionsOpen();
    const overflowBefore = await inboundStat('downstream_cx_overflow');
    const held = [connect(), connect(), connect()];
    for (const c of held) expect(await c.roundTrip()).to.match(/^HTTP\/1\.1 204 /);
    expect(await inboundStat('downstream_cx_active')).to.equal(3);

    const fourth = connect();
    fourth.socket.write('GET /status/204 HTTP/1.1\r\nHost: limited\r\n\r\n');
    await fourth.closed;
    expect(fourth.received).to.equal('');
    expect(await inboundStat('downstream_cx_overflow')).to.equal(overflowBefore + 1);

    for (const c of held) expect(await c.roundTrip()).to.match(/^HTTP\/1\.1 204 /);
    for (const c of held) c.close();
    await noConnectionsOpen();
    expect(await connect().roundTrip()).to.match(/^HTTP\/1\.1 204 /);
  });

  it('answers a head trickled past requestHeadersTimeout (200ms) with 408, whatever the bytes still arriving', async () => {
    for (const c of clients) c.close();
    await noConnectionsOpen();
    const c = connect();
    await once(c.socket, 'connect');
    const started = performance.now();
    c.socket.write('GET /slow HTTP/1.1\r\nHost: limited\r\n');
    const drip = setInterval(() => {
      if (c.socket.writable) c.socket.write('x-drip: 1\r\n');
    }, 50);
    try {
      expect(await c.until(/^HTTP\/1\.1 \d{3} /)).to.match(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
    // The default deadline is 10 s; the sidecar's sweeper honours a limit within +0.5 s.
    expect(performance.now() - started).to.be.below(3000);
    await c.closed;
  });
});
