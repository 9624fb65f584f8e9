// Ports for the demo's processes: free loopback ports by default, or consecutive ones from --base-port.
import net from 'node:net';

export interface PortAllocator {
  next(): Promise<number>;
}

/** A port the OS picked and released a moment ago; two demos (or a demo and a test) never clash. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
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
