// gRPC health checks against a real @grpc/grpc-js server implementing grpc.health.v1.Health (its messages built
// with protobufjs, so the hand-written encoding is checked against a real codec).

import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import protobuf from 'protobufjs';
import type { GrpcHealthProbe } from '../../config/model.ts';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, ServingStatus } from './grpc-health-messages.ts';
import { fastCheck, loopbackHost, Watched } from './test-helpers.ts';

const root = protobuf.parse(`
  syntax = "proto3";
  package grpc.health.v1;
  message HealthCheckRequest { string service = 1; }
  message HealthCheckResponse {
    enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
    ServingStatus status = 1;
  }
`).root;
const Request = root.lookupType('grpc.health.v1.HealthCheckRequest');
const Response = root.lookupType('grpc.health.v1.HealthCheckResponse');

interface CheckRequest {
  service: string;
}
interface CheckResponse {
  status: number;
}

const HEALTH_SERVICE: grpc.ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (r: CheckRequest) => Buffer.from(Request.encode(Request.fromObject(r)).finish()),
    requestDeserialize: (b: Buffer) => Request.toObject(Request.decode(b), { defaults: true }) as CheckRequest,
    responseSerialize: (r: CheckResponse) => Buffer.from(Response.encode(Response.fromObject(r)).finish()),
    responseDeserialize: (b: Buffer) => Response.toObject(Response.decode(b), { defaults: true }) as CheckResponse,
  },
};

/** A health server whose statuses per service the test sets; `fail` answers with a gRPC error instead. */
async function healthServer(): Promise<{
  port: number;
  statuses: Map<string, number>;
  fail: { value: boolean };
  seen: { service: string; authority: string }[];
  close(): void;
}> {
  const statuses = new Map<string, number>();
  const fail = { value: false };
  const seen: { service: string; authority: string }[] = [];
  const server = new grpc.Server();
  server.addService(HEALTH_SERVICE, {
    Check: (call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>, callback: grpc.sendUnaryData<CheckResponse>) => {
      seen.push({ service: call.request.service, authority: String(call.getHost()) });
      if (fail.value) return callback({ code: grpc.status.UNAVAILABLE, details: 'going away' });
      const status = statuses.get(call.request.service);
      if (status === undefined) return callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      callback(null, { status });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { port, statuses, fail, seen, close: () => server.forceShutdown() };
}

describe('gRPC health checks', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const fn of cleanup.splice(0)) fn();
  });

  it('encodes HealthCheckRequest and decodes HealthCheckResponse like protobufjs', () => {
    for (const service of ['', 'orders.v1.Orders', 'x'.repeat(300)]) {
      expect(Request.toObject(Request.decode(encodeHealthCheckRequest(service)), { defaults: true })).to.deep.equal({
        service,
      });
    }
    for (const status of [0, 1, 2, 3]) {
      expect(decodeHealthCheckResponse(Response.encode(Response.fromObject({ status })).finish())).to.equal(status);
    }
    expect(decodeHealthCheckResponse(Uint8Array.from([0x08]))).to.equal(undefined);
  });

  it('follows SERVING / NOT_SERVING of the named service, with the configured authority', async () => {
    const server = await healthServer();
    cleanup.push(server.close);
    server.statuses.set('orders.v1.Orders', ServingStatus.SERVING);
    const probe: GrpcHealthProbe = {
      kind: 'grpc',
      serviceName: 'orders.v1.Orders',
      authority: 'orders.mesh',
      initialMetadata: [],
    };
    const w = new Watched(fastCheck(probe, { unhealthyThreshold: 3, healthyThreshold: 2 }), loopbackHost(server.port));
    cleanup.push(() => w.close());
    await w.checksDone(2);
    expect(w.checks.map((c) => c.result)).to.deep.equal([{ ok: true }, { ok: true }]);
    expect(server.seen[0]).to.deep.equal({ service: 'orders.v1.Orders', authority: 'orders.mesh' });
    server.statuses.set('orders.v1.Orders', ServingStatus.NOT_SERVING);
    const before = w.checks.length;
    const at = await w.becomes(false);
    // NOT_SERVING is an answer, not a network failure: the host leaves at once.
    expect(w.checks.slice(before, at + 1).filter((c) => !c.result.ok)).to.have.length(1);
    expect(w.checks[at]?.result).to.deep.equal({ ok: false, kind: 'active', detail: 'NOT_SERVING' });
    server.statuses.set('orders.v1.Orders', ServingStatus.SERVING);
    const back = w.checks.length;
    const returnedAt = await w.becomes(true);
    expect(w.checks.slice(back, returnedAt + 1).filter((c) => c.result.ok)).to.have.length(2);
  });

  it('treats a gRPC error status as a failed check and an unreachable server as network failures', async () => {
    const server = await healthServer();
    cleanup.push(server.close);
    server.statuses.set('', ServingStatus.SERVING);
    const probe: GrpcHealthProbe = { kind: 'grpc', serviceName: '', initialMetadata: [] };
    const w = new Watched(fastCheck(probe, { unhealthyThreshold: 2 }), loopbackHost(server.port));
    cleanup.push(() => w.close());
    await w.checksDone(1);
    expect(server.seen[0]?.authority).to.equal(`127.0.0.1:${server.port}`);
    server.fail.value = true;
    await w.becomes(false);
    expect(w.checks.at(-1)?.result).to.deep.equal({ ok: false, kind: 'active', detail: 'grpc-status 14 going away' });
    server.fail.value = false;
    await w.becomes(true);
    server.close();
    const before = w.checks.length;
    const at = await w.becomes(false);
    const failures = w.checks.slice(before, at + 1).filter((c) => !c.result.ok);
    expect(failures).to.have.length(2);
    expect(failures.every((c) => !c.result.ok && c.result.kind === 'network')).to.equal(true);
  });

  it('fails a server that answers 200 without speaking gRPC', async () => {
    const server = http2.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const w = new Watched(fastCheck({ kind: 'grpc', serviceName: '', initialMetadata: [] }), loopbackHost(port));
    cleanup.push(() => w.close());
    await w.becomes(false);
    expect(w.checks.at(-1)?.result).to.deep.equal({ ok: false, kind: 'active', detail: 'content-type text/plain' });
  });
});
