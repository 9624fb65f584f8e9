// Reserves stock with the inventory service over plain TCP, through the sidecar's local port for it.
import net from 'node:net';

/** Sends one command line to host:port and resolves with the one line answered. */
export function inventoryCall(host: string, port: number, line: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let buffered = '';
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`inventory: no answer within ${timeoutMs} ms`)));
    socket.setEncoding('utf8');
    socket.on('error', fail);
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      socket.end();
      resolve(buffered.slice(0, nl));
    });
    socket.on('end', () => {
      if (!buffered.includes('\n')) fail(new Error('inventory: connection closed before an answer'));
    });
    socket.write(`${line}\n`);
  });
}
