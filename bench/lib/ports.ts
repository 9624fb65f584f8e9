// Port helpers for benchmarks and tests: pick a free loopback port, wait until one accepts connections.
import net from 'node:net';

/** A port free a moment ago, outside the ephemeral range (the demo's allocator: no clash with outgoing sockets). */
export { freePort } from '../../demo/src/ports.ts';

/** Resolves once 127.0.0.1:port accepts a TCP connection (polls every 50 ms, up to timeoutMs). */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
