// The demo's Payments gRPC service definition, loaded from demo/proto/payments.proto.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface ChargeRequest {
  order_id: string;
  amount_cents: number;
}

export interface ChargeReply {
  payment_id: string;
  approved: boolean;
  instance: string;
}

const definition = protoLoader.loadSync(fileURLToPath(new URL('../../proto/payments.proto', import.meta.url)), {
  keepCase: true,
  defaults: true,
});

/** The generated client constructor (its `.service` is the server-side definition). */
export const PaymentsClient = (
  grpc.loadPackageDefinition(definition) as unknown as {
    trellis: { demo: { Payments: grpc.ServiceClientConstructor } };
  }
).trellis.demo.Payments;
