// Test gRPC backends and clients for the trellis.test.Echo service (each backend replies with its own name).
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const definition = protoLoader.loadSync(fileURLToPath(new URL('../protos/echo.proto', import.meta.url)), {
  keepCase: true,
});
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  trellis: { test: { Echo: grpc.ServiceClientConstructor } };
};
const EchoClientCtor = pkg.trellis.test.Echo;

export interface WhoReply {
  backend: string;
  message: string;
}

export interface EchoBackend {
  name: string;
  port: number;
  /** Requests this backend answered. */
  count(): number;
  close(): Promise<void>;
}

/** Starts an Echo backend on 127.0.0.1, port 0. */
export async function startEchoBackend(name: string): Promise<EchoBackend> {
  const server = new grpc.Server();
  let served = 0;
  server.addService(EchoClientCtor.service, {
    Who(call: grpc.ServerUnaryCall<{ message: string }, WhoReply>, cb: grpc.sendUnaryData<WhoReply>) {
      served++;
      cb(null, { backend: name, message: call.request.message });
    },
    Chat(call: grpc.ServerDuplexStream<{ message: string }, WhoReply>) {
      call.on('data', (req: { message: string }) => {
        served++;
        call.write({ backend: name, message: req.message });
      });
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    name,
    port,
    count: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 1000).unref();
      }),
  };
}

export interface EchoClient {
  who(message?: string, deadlineMs?: number, headers?: Readonly<Record<string, string>>): Promise<WhoReply>;
  /** Sends each message on one bidirectional stream, one at a time, and collects the replies. */
  chat(messages: readonly string[], deadlineMs?: number): Promise<WhoReply[]>;
  close(): void;
}

/** An Echo client for a target (e.g. xds:///echo), with extra channel options. */
export function echoClient(target: string, options: grpc.ChannelOptions = {}): EchoClient {
  const client = new EchoClientCtor(target, grpc.credentials.createInsecure(), options);
  return {
    who: (message = '', deadlineMs = 5000, headers = {}) =>
      new Promise<WhoReply>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
        client['Who']!(
          { message },
          metadata,
          { deadline: Date.now() + deadlineMs },
          (err: grpc.ServiceError | null, reply: WhoReply) => (err ? reject(err) : resolve(reply)),
        );
      }),
    chat: (messages, deadlineMs = 5000) =>
      new Promise<WhoReply[]>((resolve, reject) => {
        const call = client['Chat']!({ deadline: Date.now() + deadlineMs }) as grpc.ClientDuplexStream<
          { message: string },
          WhoReply
        >;
        const replies: WhoReply[] = [];
        let next = 0;
        const send = (): void => {
          const m = messages[next++];
          if (m === undefined) call.end();
          else call.write({ message: m });
        };
        call.on('data', (r: WhoReply) => {
          replies.push(r);
          send();
        });
        call.on('error', reject);
        call.on('end', () => resolve(replies));
        send();
      }),
    close: () => client.close(),
  };
}
