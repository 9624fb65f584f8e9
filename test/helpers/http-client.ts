// An HTTP/1.1 client for tests that speaks through a sidecar's outbound listener like an app with HTTP_PROXY set.
import http from 'node:http';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body's bytes as received (a compressed body decodes from these). */
  raw: Buffer;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * Sends an absolute-form request (`GET http://web:8080/x`) to the proxy on 127.0.0.1:proxyPort, on a kept-alive
 * connection unless `fresh` (a connection from before a listener change keeps the old configuration, as in Envoy).
 */
export function viaProxy(
  proxyPort: number,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; fresh?: boolean } = {},
): Promise<HttpResult> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        method: init.method ?? 'GET',
        path: url,
        headers: { host: target.host, ...init.headers },
        agent: init.fresh ? false : agent,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Closes the shared keep-alive sockets (call in an after hook). */
export function closeHttpClients(): void {
  agent.destroy();
}
