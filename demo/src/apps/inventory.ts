// The demo's inventory service: plain TCP, one command per line ("RESERVE <sku> <qty>" → "OK <left> <instance>").
import net from 'node:net';
import { portFrom } from './env.ts';
import { appLogger, serve } from './serve.ts';

const STOCK = 1000;
const instance = process.env['INSTANCE'] ?? 'inventory';
const log = appLogger('inventory');
const stock = new Map<string, number>();

/** Answers one command line. */
function answer(line: string): string {
  const [command, sku, qtyText] = line.trim().split(/\s+/);
  if (command === 'PING') return `PONG ${instance}`;
  if (command !== 'RESERVE' || sku === undefined) return 'ERR expected RESERVE <sku> <qty> or PING';
  const qty = Number(qtyText ?? '1');
  if (!Number.isInteger(qty) || qty < 1) return `ERR qty: expected a positive integer, got "${qtyText}"`;
  let left = stock.get(sku) ?? STOCK;
  if (left < qty) left = STOCK; // the demo's warehouse restocks at once
  stock.set(sku, left - qty);
  return `OK ${left - qty} ${instance}`;
}

const server = net.createServer((socket) => {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      socket.write(`${answer(buffered.slice(0, nl))}\n`);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  });
});
serve(server, portFrom('PORT'), log);
