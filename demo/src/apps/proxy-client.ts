// HTTP calls to other services through the local sidecar, the way apps with HTTP_PROXY set make them.
import http from 'node:http';

export interface Reply {
  status: number;
  body: string;
}

/** Sends absolute-form requests (`GET http://orders:8080/order`) to the proxy named by HTTP_PROXY. */
export class ProxyClient {
  readonly #proxy: { host: string; port: number };
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(proxyUrl = process.env['HTTP_PROXY'] ?? process.env['http_proxy']) {
    if (proxyUrl === undefined || proxyUrl === '') throw new Error('environment variable HTTP_PROXY is required');
    let url: URL;
    try {
      url = new URL(proxyUrl);
    } catch {
      throw new Error(`HTTP_PROXY: expected a URL such as http://127.0.0.1:15001, got "${proxyUrl}"`);
    }
    this.#proxy = { host: url.hostname, port: Number(url.port || '80') };
  }

  get(url: string, headers: Record<string, string>, timeoutMs = 5000): Promise<Reply> {
    const target = new URL(url);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.#proxy.host,
          port: this.#proxy.port,
          path: url,
          headers: { ...headers, host: target.host },
          agent: this.#agent,
          timeout: timeoutMs,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
