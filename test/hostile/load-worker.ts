// The legitimate load, run as its own process beside an attack: paced requests through a proxy, then a JSON report.
// Usage: node load-worker.ts '<LoadConfig JSON>'; prints {"event":"ready"} once warm, {"event":"result",…} when
// stdin ends or a bound (maxRequests, maxMs) is reached, then exits.
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';

export interface LoadConfig {
  port: number;
  /** Host / :authority of every request (routes to the service under test). */
  authority: string;
  path: string;
  /** h1s: HTTP/1.1 over TLS (an edge gateway), SNI the authority, any certificate accepted. */
  protocol: 'h1' | 'h2' | 'h1s';
  concurrency: number;
  /** Pause of each worker between two requests. */
  intervalMs: number;
  maxRequests: number;
  maxMs: number;
  /** A request slower than this counts as failed. */
  timeoutMs: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  /** Responses by status code, failures without a response by error message. */
  statuses: Record<string, number>;
  errors: Record<string, number>;
  /** The first few failed requests: path and what happened. */
  failures: string[];
  p50: number;
  p99: number;
  max: number;
}

type Outcome = { status: number } | { error: string };

const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;

function h1Requester(tls = false): (path: string) => Promise<Outcome> {
  const agent = tls
    ? new https.Agent({ keepAlive: true, maxSockets: config.concurrency, rejectUnauthorized: false })
    : new http.Agent({ keepAlive: true, maxSockets: config.concurrency });
  const request = tls ? https.request : http.request;
  return (path) =>
    new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: config.port,
          path,
          headers: { host: config.authority },
          agent,
          timeout: config.timeoutMs,
          ...(tls ? { servername: config.authority } : {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
          res.on('error', (err) => resolve({ error: err.message }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => resolve({ error: err.message }));
      req.end();
    });
}

function h2Requester(): (path: string) => Promise<Outcome> {
  let session: http2.ClientHttp2Session | undefined;
  const connect = (): http2.ClientHttp2Session => {
    if (session && !session.closed && !session.destroyed) return session;
    const s = http2.connect(`http://127.0.0.1:${config.port}`);
    s.on('error', () => {});
    session = s;
    return s;
  };
  return (path) =>
    new Promise((resolve) => {
      const req = connect().request({ ':path': path, ':authority': config.authority });
      const timer = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), config.timeoutMs);
      let status = 0;
      req.on('response', (h) => {
        status = Number(h[':status']);
      });
      req.on('error', (err: Error) => {
        clearTimeout(timer);
        resolve({ error: err.message });
      });
      req.on('close', () => {
        clearTimeout(timer);
        resolve(status > 0 ? { status } : { error: 'stream closed without a response' });
      });
      req.resume();
      req.end();
    });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function main(): Promise<void> {
  const send = config.protocol === 'h2' ? h2Requester() : h1Requester(config.protocol === 'h1s');
  // Warm-up: every worker's connection is established (and served) before the attack starts.
  await Promise.all(Array.from({ length: config.concurrency }, (_, i) => send(`${config.path}?warmup=${i}`)));
  process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
  let stop = false;
  process.stdin.on('end', () => {
    stop = true;
  });
  process.stdin.resume();
  const deadline = Date.now() + config.maxMs;
  const latencies: number[] = [];
  const result: LoadResult = {
    sent: 0,
    ok: 0,
    failed: 0,
    statuses: {},
    errors: {},
    failures: [],
    p50: 0,
    p99: 0,
    max: 0,
  };
  const worker = async (w: number): Promise<void> => {
    while (!stop && result.sent < config.maxRequests && Date.now() < deadline) {
      result.sent++;
      const start = performance.now();
      const path = `${config.path}?w=${w}&n=${result.sent}`;
      const outcome = await send(path);
      const ms = performance.now() - start;
      latencies.push(ms);
      if ('status' in outcome && outcome.status === 200) {
        result.ok++;
      } else {
        result.failed++;
        if (result.failures.length < 10)
          result.failures.push(
            `${path}: ${'status' in outcome ? outcome.status : outcome.error} after ${ms.toFixed(0)} ms`,
          );
      }
      if ('status' in outcome) result.statuses[outcome.status] = (result.statuses[outcome.status] ?? 0) + 1;
      else result.errors[outcome.error] = (result.errors[outcome.error] ?? 0) + 1;
      if (config.intervalMs > 0) await new Promise((r) => setTimeout(r, config.intervalMs));
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, (_, w) => worker(w)));
  latencies.sort((a, b) => a - b);
  result.p50 = Math.round(percentile(latencies, 50) * 10) / 10;
  result.p99 = Math.round(percentile(latencies, 99) * 10) / 10;
  result.max = Math.round((latencies.at(-1) ?? 0) * 10) / 10;
  process.stdout.write(`${JSON.stringify({ event: 'result', ...result })}\n`);
  process.exit(0);
}

await main();
