// `trellisctl get KIND [NAME] [-o table|yaml|json]` (a listing follows every page) and `trellisctl delete KIND NAME`.
import { messageToResource } from '../api/messages.ts';
import { parseKind, unknownKindMessage } from '../resources/kinds.ts';
import type { Kind } from '../resources/types.ts';
import { formatResult } from './apply.ts';
import type { CommandContext } from './context.ts';
import { CliError } from './io.ts';
import { formatResources, OUTPUT_FORMATS, type OutputFormat } from './resource-output.ts';

export function kindArgument(text: string): Kind {
  const kind = parseKind(text);
  if (!kind) throw new CliError(unknownKindMessage(text));
  return kind;
}

export function outputFormat(text: string): OutputFormat {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(text)) {
    throw new CliError(`unknown output format "${text}", expected one of ${OUTPUT_FORMATS.join('|')}`);
  }
  return text as OutputFormat;
}

export async function getCommand(
  ctx: CommandContext,
  kindText: string,
  name: string | undefined,
  output: string,
): Promise<void> {
  const kind = kindArgument(kindText);
  const format = outputFormat(output);
  const client = ctx.client();
  const messages = name === undefined ? (await client.listAll(kind)).resources : [await client.get(kind, name)];
  const resources = messages.map(messageToResource);
  if (resources.length === 0 && format === 'table') {
    ctx.io.stderr.write(`No ${kind} resources found.\n`);
    return;
  }
  ctx.io.stdout.write(formatResources(kind, resources, format, name !== undefined));
}

export async function deleteCommand(
  ctx: CommandContext,
  kindText: string,
  name: string,
  dryRun: boolean,
): Promise<void> {
  const kind = kindArgument(kindText);
  const res = await ctx.client().delete(kind, name, dryRun);
  ctx.io.stdout.write(formatResult(res.result, dryRun));
}
