// The demo's web front end: GET /checkout reserves stock (inventory, TCP) and places an order (orders, HTTP).
import http from 'node:http';
import { addressFrom, portFrom } from './env.ts';
import { inventoryCall } from './inventory-client.ts';
import { ProxyClient } from './proxy-client.ts';
import { appLogger, serve } from './serve.ts';
import { traceHeaders } from './trace-headers.ts';

const log = appLogger('web');
const orders = new ProxyClient();
const ordersUrl = process.env['ORDERS_URL'] ?? 'http://orders:8080';
// Plain TCP: the sidecar's local port for inventory (--tcp-upstream inventory:7000=<port>).
const inventory = addressFrom('INVENTORY_VIA');
const ITEMS = ['tea', 'mug', 'kettle', 'spoon'];

/** One hop's result as web saw it; `ms` is the call's time through the mesh. */
interface Hop {
  ok: boolean;
  ms: number;
  instance?: string;
  version?: string;
  error?: string;
}

async function reserve(item: string): Promise<Hop> {
  const started = performance.now();
  try {
    const line = await inventoryCall(inventory.host, inventory.port, `RESERVE ${item} 1`);
    const [status, , who] = line.split(' ');
    return { ok: status === 'OK', ms: performance.now() - started, ...(who ? { instance: who } : {}) };
  } catch (err) {
    return { ok: false, ms: performance.now() - started, error: (err as Error).message };
  }
}

async function order(item: string, headers: Record<string, string>): Promise<{ hop: Hop; payments?: Hop }> {
  const started = performance.now();
  try {
    const r = await orders.get(`${ordersUrl}/order?item=${item}`, headers);
    const ms = performance.now() - started;
    let body: { version?: string; instance?: string; payments?: Hop; error?: string } = {};
    try {
      body = JSON.parse(r.body) as typeof body;
    } catch {
      body = { error: r.body.slice(0, 200) };
    }
    const hop: Hop = { ok: r.status === 200, ms };
    if (body.version !== undefined) hop.version = body.version;
    if (body.instance !== undefined) hop.instance = body.instance;
    if (r.status !== 200) hop.error = `HTTP ${r.status}${body.error ? `: ${body.error}` : ''}`;
    return body.payments === undefined ? { hop } : { hop, payments: body.payments };
  } catch (err) {
    return { hop: { ok: false, ms: performance.now() - started, error: (err as Error).message } };
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://web');
  if (url.pathname !== '/checkout') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `no such path ${url.pathname}, expected /checkout` }));
    return;
  }
  const item = url.searchParams.get('item') ?? ITEMS[Math.floor(Math.random() * ITEMS.length)] ?? 'tea';
  const headers = traceHeaders(req.headers);
  void Promise.all([reserve(item), order(item, headers)]).then(([stock, placed]) => {
    const ok = stock.ok && placed.hop.ok && placed.payments?.ok === true;
    res.writeHead(ok ? 200 : 502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok, item, inventory: stock, orders: placed.hop, payments: placed.payments ?? null }));
  });
});
serve(server, portFrom('PORT'), log, () => orders.close());
