// Ports for the demo's processes: free loopback ports outside the kernel's ephemeral range, or consecutive ones from --base-port.
import { readFileSync } from 'node:fs';
import net from 'node:net';

export interface PortAllocator {
  next(): Promise<number>;
}

const DEFAULT_EPHEMERAL: readonly [number, number] = [32768, 60999];
const LOWEST = 10_000;
const handedOut = new Set<number>();

/** The range outgoing connections take their source ports from (Linux: ip_local_port_range). */
function ephemeralRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux: assume the usual range
  }
  return DEFAULT_EPHEMERAL;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A port free a moment ago. It is picked outside the ephemeral range: a port the OS hands out for `listen(0)` can be
 * taken as the source port of any outgoing connection before the caller binds it (seen as EADDRINUSE under load);
 * ports below the range are never assigned that way. Never the same port twice in one process.
 */
export async function freePort(): Promise<number> {
  const [low, high] = ephemeralRange();
  const [from, to] = low - LOWEST >= 1000 ? [LOWEST, low - 1] : [high + 1, 65535];
  for (let i = 0; i < 200 && to > from; i++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canBind(port)) return port;
  }
  return osPort();
}

/** Free ports, or base, base+1, … when a base port is given. */
export function portAllocator(basePort?: number): PortAllocator {
  if (basePort === undefined) return { next: freePort };
  let port = basePort;
  return {
    next: async () => {
      if (port > 65535) throw new Error(`--base-port ${basePort}: the demo needs more ports than remain below 65536`);
      return port++;
    },
  };
}
