// What every trellisctl command gets: the I/O streams and a lazily created API client.
import { AdminClient } from '../api/client.ts';
import type { CliIo } from './io.ts';

export interface CommandContext {
  io: CliIo;
  /** The API address (`--api`, env TRELLIS_API, default 127.0.0.1:18001). */
  address: string;
  /** The client for `address`, created on first use and closed when the command ends. */
  client(): AdminClient;
}

export function createContext(
  io: CliIo,
  address: string,
  timeoutMs: number,
  token?: string,
): CommandContext & { close(): void } {
  let client: AdminClient | undefined;
  return {
    io,
    address,
    client() {
      client ??= new AdminClient(address, { timeoutMs, ...(token === undefined || token === '' ? {} : { token }) });
      return client;
    },
    close() {
      client?.close();
    },
  };
}
