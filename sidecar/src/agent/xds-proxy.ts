// trellis-agent's xDS proxy (as istio-agent's): proxyless gRPC on this machine speaks ADS in plaintext to a Unix socket
// only the agent's user can open, and the agent carries each stream to the control plane over mTLS with its workload
// certificate, so the node is authenticated as the agent's identity (grpc-js-xds has no TLS for its xDS channel).
import { chmodSync, rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { adsChannel } from '../xds/ads-call.ts';

const ADS = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
const METHODS = ['StreamAggregatedResources', 'DeltaAggregatedResources'] as const;

/** Messages pass as bytes: the proxy never decodes them. */
const identity = (b: Buffer): Buffer => b;

export interface XdsProxyOptions {
  /** The Unix socket to listen on (replaced if it exists; mode 0600). */
  socketPath: string;
  /** Control-plane xDS addresses, tried in order: a stream that ends UNAVAILABLE moves the next one on. */
  upstreams: readonly string[];
  credentials: grpc.ChannelCredentials;
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export interface XdsProxy {
  /** Open downstream streams. */
  streams(): number;
  close(): Promise<void>;
}

function definition(): grpc.ServiceDefinition {
  return Object.fromEntries(
    METHODS.map((method) => [
      method,
      {
        path: `/${ADS}/${method}`,
        requestStream: true,
        responseStream: true,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    ]),
  );
}

/** Copies `from`'s messages into `to`, pausing `from` while `to` is full. */
function forward(
  from: NodeJS.ReadableStream & { pause(): void; resume(): void },
  to: { write(b: Buffer): boolean; once(e: 'drain', f: () => void): unknown },
): void {
  from.on('data', (message: Buffer) => {
    if (!to.write(message)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
}

export async function startXdsProxy(opts: XdsProxyOptions): Promise<XdsProxy> {
  const clients = opts.upstreams.map((address) => adsChannel(address, opts.credentials));
  let current = 0;
  const open = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
  const server = new grpc.Server();
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of METHODS) {
    handlers[method] = (down: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      const index = current;
      const client = clients[index] as grpc.Client;
      const up = client.makeBidiStreamRequest(`/${ADS}/${method}`, identity, identity, new grpc.Metadata());
      open.add(down);
      let finished = false;
      const finish = (status?: { code: grpc.status; details: string }): void => {
        if (finished) return;
        finished = true;
        open.delete(down);
        if (status === undefined || status.code === grpc.status.OK) down.end();
        else down.emit('error', status);
      };
      forward(down, up);
      forward(up, down);
      down.on('end', () => up.end());
      down.on('cancelled', () => {
        finished = true;
        open.delete(down);
        up.cancel();
      });
      down.on('error', () => up.cancel());
      up.on('error', (err: grpc.ServiceError) => {
        if (err.code === grpc.status.UNAVAILABLE && clients.length > 1 && current === index) {
          current = (index + 1) % clients.length;
          opts.logger.warn({ err: err.details, next: opts.upstreams[current] }, 'control plane unavailable: next one');
        }
        finish({ code: err.code, details: err.details });
      });
      up.on('status', (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) finish();
      });
    };
  }
  server.addService(definition(), handlers);
  rmSync(opts.socketPath, { force: true });
  // Only this user may connect: the socket is created 0600 (umask) and kept so.
  const umask = process.umask(0o177);
  try {
    await new Promise<number>((resolve, reject) =>
      server.bindAsync(`unix:${opts.socketPath}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  } finally {
    process.umask(umask);
  }
  chmodSync(opts.socketPath, 0o600);
  opts.logger.info({ socket: opts.socketPath, upstreams: opts.upstreams }, 'xDS proxy listening');
  return {
    streams: () => open.size,
    close: async () => {
      for (const down of open) down.emit('error', { code: grpc.status.UNAVAILABLE, details: 'trellis-agent stopping' });
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      for (const c of clients) c.close();
      rmSync(opts.socketPath, { force: true });
    },
  };
}
