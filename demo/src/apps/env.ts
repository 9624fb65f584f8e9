// Reads a demo app's settings from its environment, failing with a message that names the variable.

/** A required environment variable. */
export function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required`);
  return value;
}

/** A port number from an environment variable (1-65535). */
export function portFrom(name: string, fallback?: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`environment variable ${name} is required (a port number)`);
  }
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535)
    throw new Error(`${name}: expected a port number 1-65535, got "${text}"`);
  return n;
}

/** host:port from an environment variable. */
export function addressFrom(name: string, fallback?: string): { host: string; port: number } {
  const text = process.env[name] ?? fallback;
  if (text === undefined || text === '') throw new Error(`environment variable ${name} is required (host:port)`);
  const m = /^(.+):(\d{1,5})$/.exec(text);
  if (m === null) throw new Error(`${name}: expected host:port, got "${text}"`);
  return { host: m[1] as string, port: Number(m[2]) };
}
