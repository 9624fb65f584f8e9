// What every demo app shares: a pino logger, one listening server on loopback, and a clean exit on SIGTERM/SIGINT.
import type { Server } from 'node:net';
import { type Logger, pino } from 'pino';

/** A JSON logger named after the app (stdout, one line per event). */
export function appLogger(app: string): Logger {
  return pino({
    base: { service: app, instance: process.env['INSTANCE'] ?? app },
    level: process.env['LOG_LEVEL'] ?? 'info',
  });
}

/**
 * Listens on LISTEN_HOST (default 127.0.0.1: only the sidecar beside the app reaches it) and `port`, logs
 * `{"msg":"listening","port":N}` and closes the server, then `cleanup`, on SIGTERM or SIGINT.
 */
export function serve(server: Server, port: number, log: Logger, cleanup: () => void = () => {}): void {
  const host = process.env['LISTEN_HOST'] ?? '127.0.0.1';
  server.on('error', (err) => {
    log.fatal({ err }, 'server error');
    process.exit(1);
  });
  server.listen(port, host, () => {
    const address = server.address();
    log.info({ host, port: typeof address === 'object' && address !== null ? address.port : port }, 'listening');
  });
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping');
    cleanup();
    server.close(() => process.exit(0));
    if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function')
      server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
