// The CLI's view of the outside world (streams, environment) and the error type commands throw for users.

export interface CliIo {
  /** isTTY (a terminal) makes `top` redraw in place. */
  stdout: { write(chunk: string): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown };
  stdin: AsyncIterable<string | Uint8Array>;
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
}

/** A problem the user can fix; printed as `error: <message>` (each line of a multi-line message kept). */
export class CliError extends Error {
  override name = 'CliError';
}

export async function readAll(input: AsyncIterable<string | Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of input) text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}
