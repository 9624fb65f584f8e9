// The demo's load generator as an app of its own (docker-compose): RPS requests/s to web through HTTP_PROXY.
import { startLoad } from '../load-generator.ts';
import { Recorder } from '../recorder.ts';
import { appLogger } from './serve.ts';

const log = appLogger('loadgen');
const proxy = new URL(process.env['HTTP_PROXY'] ?? 'http://127.0.0.1:15001');
const rps = Number(process.env['RPS'] ?? '20');
if (!Number.isInteger(rps) || rps < 1 || rps > 500)
  throw new Error(`RPS: expected an integer from 1 to 500, got "${process.env['RPS']}"`);
const REPORT_S = 5;

const recorder = new Recorder();
const load = startLoad({ outboundPort: Number(proxy.port || '80'), rps, recorder });
log.info({ rps, proxy: proxy.href, target: 'http://web:8080/checkout' }, 'sending');
const report = setInterval(() => {
  recorder.closeSecond();
  const { services, versions } = recorder.rolling(REPORT_S);
  const web = services.web;
  log.info(
    { rps: Number(web.rps.toFixed(1)), successRate: web.successRate, p50Ms: web.p50Ms, p99Ms: web.p99Ms, versions },
    `last ${REPORT_S}s`,
  );
}, REPORT_S * 1000);
const stop = (signal: string): void => {
  clearInterval(report);
  log.info({ signal }, 'stopping');
  void load.stop().then(() => process.exit(0));
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
