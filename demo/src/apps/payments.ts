// The demo's payments service: gRPC Charge on PORT (reached only through its sidecar), approving every charge.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { portFrom } from './env.ts';
import { type ChargeReply, type ChargeRequest, PaymentsClient } from './payments-proto.ts';
import { appLogger } from './serve.ts';

const instance = process.env['INSTANCE'] ?? 'payments';
const log = appLogger('payments');
const port = portFrom('PORT');
const host = process.env['LISTEN_HOST'] ?? '127.0.0.1';

const server = new grpc.Server();
server.addService(PaymentsClient.service, {
  Charge(call: grpc.ServerUnaryCall<ChargeRequest, ChargeReply>, callback: grpc.sendUnaryData<ChargeReply>) {
    if (call.request.order_id === '') {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'order_id: required' });
      return;
    }
    callback(null, { payment_id: randomUUID(), approved: true, instance });
  },
});
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err !== null) {
    log.fatal({ err }, 'cannot listen');
    process.exit(1);
  }
  log.info({ host, port: bound }, 'listening');
});
const stop = (signal: string): void => {
  log.info({ signal }, 'stopping');
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
