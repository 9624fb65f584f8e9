// A standalone HTTP handler in front of one upstream, for benchmarks: node sidecar/src/http/bench-server.ts <port> <upstreamPort>
import net from 'node:net';
import { pino } from 'pino';
import { Stats } from '../common/stats.ts';
import { createHttpHandler } from './http-handler.ts';
import { hcmConfig, listenerConfig, route, routeConfig, TestClusters, vhost } from './test-harness.ts';

const [port, upstreamPort] = process.argv.slice(2).map(Number);
if (!port || !upstreamPort) {
  console.error('usage: bench-server.ts <port> <upstreamPort>');
  process.exit(2);
}
const clusters = new TestClusters();
clusters.add('upstream', [upstreamPort]);
const routes = routeConfig([vhost('all', ['*'], [route({ prefix: '/', cluster: 'upstream' })])]);
/** BENCH_LEAN=1 turns off request ids and forwarding headers, to see what they cost. */
const lean = process.env['BENCH_LEAN'] === '1';
/** BENCH_IDLE_MS sets the stream idle timeout (the sidecar's default is 300000; the test config uses 0). */
const idleMs = Number(process.env['BENCH_IDLE_MS'] ?? 0);
const hcm = hcmConfig({
  routeConfig: routes,
  streamIdleTimeoutMs: idleMs,
  ...(lean ? { generateRequestId: false, useRemoteAddress: false } : {}),
});
const handler = createHttpHandler(listenerConfig(hcm), {
  clusters,
  routeConfig: () => routes,
  stats: new Stats(),
  logger: pino({ level: 'silent' }),
});
const server = net.createServer({ allowHalfOpen: true }, (socket) => handler.handle(socket));
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port })));
process.on('SIGTERM', () => {
  server.close();
  void handler.drain(1000).then(() => process.exit(0));
});
