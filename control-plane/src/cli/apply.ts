// `trellisctl apply -f FILE|-`: parse and validate locally (file positions in messages), then Apply on the server.
import { readFile } from 'node:fs/promises';
import { type ApplyResultMessage, resourceToMessage } from '../api/messages.ts';
import { formatBytes, MAX_API_REQUEST_BYTES } from '../common/limits.ts';
import { resourceEncodedSize } from '../resources/encoded-size.ts';
import { parseDocuments } from '../resources/parse.ts';
import type { Resource } from '../resources/types.ts';
import { validateBatch } from '../resources/validate/batch.ts';
import type { CommandContext } from './context.ts';
import { CliError, readAll } from './io.ts';

export interface ApplyOptions {
  file: string;
  dryRun: boolean;
}

/** `service/orders created` (plus the diff on a dry run). */
export function formatResult(r: ApplyResultMessage, dryRun: boolean): string {
  const line = `${r.kind.toLowerCase()}/${r.name} ${r.action}${dryRun ? ' (dry run)' : ''}\n`;
  return dryRun && r.diff !== '' ? line + r.diff : line;
}

async function readSource(ctx: CommandContext, file: string): Promise<{ text: string; source: string }> {
  if (file === '-') return { text: await readAll(ctx.io.stdin), source: 'stdin' };
  try {
    return { text: await readFile(file, 'utf8'), source: file };
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Refuses a batch the server would refuse for its size (one gRPC message), before sending it. */
function checkBatchSize(resources: readonly Resource[], source: string): void {
  let bytes = 0;
  for (const r of resources) bytes += resourceEncodedSize(r as unknown as Record<string, unknown>) + 6;
  if (bytes <= MAX_API_REQUEST_BYTES) return;
  throw new CliError(
    `${source}: the batch encodes to ${formatBytes(bytes)}, the operator API takes at most ${formatBytes(MAX_API_REQUEST_BYTES)} per apply: split it into several files`,
  );
}

export async function applyCommand(ctx: CommandContext, opts: ApplyOptions): Promise<void> {
  const { text, source } = await readSource(ctx, opts.file);
  const parsed = parseDocuments(text);
  const batch = validateBatch(parsed.documents.map((d) => ({ where: `document ${d.index}`, value: d.value })));
  const errors = [...parsed.errors, ...batch.errors];
  if (errors.length > 0) throw new CliError(errors.map((e) => `${source}: ${e}`).join('\n'));
  if (batch.resources.length === 0) throw new CliError(`${source}: no resources to apply`);
  checkBatchSize(batch.resources, source);
  const res = await ctx.client().apply({ resources: batch.resources.map(resourceToMessage), dry_run: opts.dryRun });
  for (const r of res.results) ctx.io.stdout.write(formatResult(r, opts.dryRun));
}
