// `trellisctl token create --service S`: a join token for S's sidecars (printed alone, for scripts), or its details.
import { stringify } from 'yaml';
import type { CommandContext } from './context.ts';
import { CliError } from './io.ts';

export interface TokenCreateOptions {
  service: string;
  namespace: string;
  serviceAccount: string;
  ttlMs: number;
  output: string;
}

export async function tokenCreateCommand(ctx: CommandContext, o: TokenCreateOptions): Promise<void> {
  if (!['token', 'yaml', 'json'].includes(o.output))
    throw new CliError(`unknown output format "${o.output}", expected token|yaml|json`);
  const res = await ctx.client().createJoinToken({
    service: o.service,
    namespace: o.namespace,
    service_account: o.serviceAccount,
    ttl_seconds: Math.ceil(o.ttlMs / 1000),
  });
  if (o.output === 'token') ctx.io.stdout.write(`${res.token}\n`);
  else if (o.output === 'json') ctx.io.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
  else ctx.io.stdout.write(stringify(res));
}
