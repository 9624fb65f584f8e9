// An OTLP/HTTP sink for benchmarks: accepts POST /v1/traces, reads and discards the body, answers 200.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSink {
  endpoint: string;
  /** Export requests and body bytes received. */
  requests: number;
  bytes: number;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const sink = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => {
      sink.bytes += c.length;
    });
    req.on('end', () => {
      sink.requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return sink.requests;
    },
    get bytes() {
      return sink.bytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
