// The demo's orders service (v1 or v2 by VERSION): GET /order charges payments over gRPC through the sidecar.
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { addressFrom, portFrom, required } from './env.ts';
import { type ChargeReply, PaymentsClient } from './payments-proto.ts';
import { appLogger, serve } from './serve.ts';
import { traceHeaders } from './trace-headers.ts';

const version = required('VERSION');
const instance = process.env['INSTANCE'] ?? `orders-${version}`;
const log = appLogger('orders');
// gRPC to payments: h2c to the sidecar's outbound port, :authority names the service (see docs/sidecar.md).
const sidecar = addressFrom('PAYMENTS_VIA');
const payments = new PaymentsClient(`${sidecar.host}:${sidecar.port}`, grpc.credentials.createInsecure(), {
  'grpc.default_authority': process.env['PAYMENTS_AUTHORITY'] ?? 'payments:50051',
});
/** Fraction of /order requests answered 503 on purpose (demo fault injection: POST /fault?rate=1). */
let faultRate = Number(process.env['FAULT_RATE'] ?? '0');
let sequence = 0;

function charge(orderId: string, headers: Record<string, string>): Promise<ChargeReply> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve, reject) => {
    payments['Charge']!(
      { order_id: orderId, amount_cents: 1999 },
      metadata,
      { deadline: Date.now() + 3000 },
      (err: grpc.ServiceError | null, reply: ChargeReply) => (err ? reject(err) : resolve(reply)),
    );
  });
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-orders-version': version });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://orders');
  if (url.pathname === '/fault') {
    if (req.method === 'POST') faultRate = Math.min(1, Math.max(0, Number(url.searchParams.get('rate') ?? '1')));
    log.info({ faultRate }, 'fault rate');
    reply(res, 200, { instance, version, faultRate });
    return;
  }
  if (url.pathname !== '/order') {
    reply(res, 404, { error: `no such path ${url.pathname}, expected /order` });
    return;
  }
  if (faultRate > 0 && Math.random() < faultRate) {
    reply(res, 503, { service: 'orders', version, instance, error: 'injected fault' });
    return;
  }
  const orderId = `${instance}-${++sequence}`;
  const started = performance.now();
  charge(orderId, traceHeaders(req.headers)).then(
    (payment) => {
      const ms = performance.now() - started;
      reply(res, 200, {
        service: 'orders',
        version,
        instance,
        orderId,
        payments: { ok: payment.approved, instance: payment.instance, ms },
      });
    },
    (err: grpc.ServiceError) => {
      const ms = performance.now() - started;
      log.warn({ code: err.code, details: err.details }, 'payments failed');
      reply(res, 502, {
        service: 'orders',
        version,
        instance,
        orderId,
        payments: { ok: false, error: err.details, ms },
      });
    },
  );
});
serve(server, portFrom('PORT'), log, () => payments.close());
