// trellisctl: the operator CLI over the Trellis gRPC API (apply, analyze, explain, get, delete, proxy-status,
// config-dump, top, token).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../resources/duration.ts';
import { KIND_ALIASES_HELP } from '../resources/kinds.ts';
import { analyzeCommand } from './analyze.ts';
import { applyCommand } from './apply.ts';
import {
  type CliConfig,
  contextToken,
  defaultConfigPath,
  loadCliConfig,
  selectContext,
  useContext,
} from './cli-config.ts';
import { configDumpCommand } from './config-dump.ts';
import { type CommandContext, createContext } from './context.ts';
import { describeFailure } from './errors.ts';
import { explainCommand } from './explain.ts';
import { renderTable } from './format/table.ts';
import { deleteCommand, getCommand } from './get.ts';
import { CliError, type CliIo } from './io.ts';
import { proxyStatusCommand } from './proxy-status.ts';
import { tokenCreateCommand } from './token.ts';
import { topCommand } from './top.ts';

export const DEFAULT_API = '127.0.0.1:18001';

/** A repeatable option's values, in order. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms === 0) throw new InvalidArgumentError('expected a duration such as 10s or 500ms');
  return ms;
}

/** Runs trellisctl with `argv` (arguments after the program name); resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  let ctx: (CommandContext & { close(): void }) | undefined;
  const program = new Command('trellisctl')
    .description('Operate a Trellis mesh through the control plane API')
    .option('--api <addr>', `control plane API address (env TRELLIS_API, then the context's; default ${DEFAULT_API})`)
    .option('--token <token>', "API token, when the control plane needs one (env TRELLIS_TOKEN, then the context's)")
    .option('--config <file>', 'config file with contexts (env TRELLISCONFIG; default ~/.config/trellis/config.yaml)')
    .option('--context <name>', "the config file's context to use (default: its current-context)")
    .addOption(
      new Option('--timeout <duration>', 'deadline for each API call').argParser(duration).default(10_000, '10s'),
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');
  type GlobalOptions = { api?: string; token?: string; timeout: number; config?: string; context?: string };
  /** The config file: --config, TRELLISCONFIG, or the default path (which may be absent). */
  const configFile = (): CliConfig | undefined => {
    const opts = program.opts<GlobalOptions>();
    const explicit = opts.config !== undefined || Boolean(env['TRELLISCONFIG']) || opts.context !== undefined;
    return loadCliConfig(opts.config ?? defaultConfigPath(env), explicit);
  };
  let resolvedApi: string | undefined;
  const context = (): CommandContext => {
    if (ctx !== undefined) return ctx;
    const opts = program.opts<GlobalOptions>();
    const flagApi = opts.api ?? (env['TRELLIS_API'] || undefined);
    const flagToken = opts.token ?? (env['TRELLIS_TOKEN'] || undefined);
    // Both given: the config file is not needed (nor read).
    const config = flagApi !== undefined && flagToken !== undefined ? undefined : configFile();
    const chosen = config === undefined ? undefined : selectContext(config, opts.context);
    const api = flagApi ?? chosen?.api ?? DEFAULT_API;
    const warn = (m: string): void => {
      io.stderr.write(`warning: ${m}\n`);
    };
    // A context's token goes only to that context's API: never to another address given on the command line.
    const contextApi = chosen?.api ?? DEFAULT_API;
    let token = flagToken;
    if (token === undefined && config !== undefined && chosen !== undefined) {
      if (api === contextApi) token = contextToken(config, chosen, warn);
      else if (chosen.token !== undefined || chosen.tokenFile !== undefined)
        warn(`context "${chosen.name}"'s token is for ${contextApi}, not sent to ${api} (pass --token)`);
    }
    resolvedApi = api;
    ctx = createContext(io, api, opts.timeout, token);
    return ctx;
  };

  program
    .command('apply')
    .description('create or update resources from multi-document YAML or JSON')
    .requiredOption('-f, --filename <file>', 'file to apply, or - for stdin')
    .option('--dry-run', 'validate and show what would change (a diff), store nothing', false)
    .action((opts: { filename: string; dryRun: boolean }) =>
      applyCommand(context(), { file: opts.filename, dryRun: opts.dryRun }),
    );
  program
    .command('analyze')
    .description(
      'cross-resource checks (TA001…, docs/cli.md) over files, the stored state (--live), or both: exit 1 on errors',
    )
    .option('-f, --filename <path>', 'a file, a directory of .yaml/.yml/.json files, or - (repeatable)', collect, [])
    .option('--live', "include the control plane's stored resources (the files replace theirs)", false)
    .option('-o, --output <format>', 'table|json', 'table')
    .action((opts: { filename: string[]; live: boolean; output: string }) =>
      analyzeCommand(context(), { files: opts.filename, live: opts.live, output: opts.output }),
    );
  program
    .command('explain')
    .description(
      "where one request from a proxy would go and why (the route tried and matched, clusters, hosts), as that proxy's own route matching computes it",
    )
    .requiredOption('--from <proxy>', 'node id, or a service (its first connected proxy)')
    .requiredOption('--to <url>', 'the request URL, e.g. http://orders:8080/api/pay')
    .option('-X, --method <method>', 'request method', 'GET')
    .option('-H, --header <name: value>', 'a request header (repeatable)', collect, [])
    .option('--listener <name>', 'the listener to explain (default: the outbound HTTP listener)')
    .option('-o, --output <format>', 'text|json', 'text')
    .action((opts: { from: string; to: string; method: string; header: string[]; listener?: string; output: string }) =>
      explainCommand(context(), {
        from: opts.from,
        to: opts.to,
        method: opts.method,
        headers: opts.header,
        output: opts.output,
        ...(opts.listener === undefined ? {} : { listener: opts.listener }),
      }),
    );
  program
    .command('get')
    .description(
      `show resources; KIND is Service, Route, TrafficPolicy, Telemetry, PeerAuthentication, AuthorizationPolicy, RequestAuthentication or Gateway (or ${KIND_ALIASES_HELP})`,
    )
    .argument('<kind>', 'resource kind')
    .argument('[name]', 'resource name (all of the kind when omitted)')
    .option('-o, --output <format>', 'table|yaml|json', 'table')
    .action((kind: string, name: string | undefined, opts: { output: string }) =>
      getCommand(context(), kind, name, opts.output),
    );
  program
    .command('delete')
    .description('delete a resource (refused while other resources reference it)')
    .argument('<kind>', 'resource kind')
    .argument('<name>', 'resource name')
    .option('--dry-run', 'check and show what would be deleted, delete nothing', false)
    .action((kind: string, name: string, opts: { dryRun: boolean }) =>
      deleteCommand(context(), kind, name, opts.dryRun),
    );
  program
    .command('proxy-status')
    .description('connected proxies and, per xDS type, SYNCED / STALE (sent != acked) / NACK')
    .option('-o, --output <format>', 'table|json', 'table')
    .action((opts: { output: string }) => proxyStatusCommand(context(), opts.output));
  program
    .command('config-dump')
    .description('the xDS resources the control plane holds for a proxy (by node id), with versions and ACK/NACK')
    .argument('<proxy>', 'node id of a connected proxy (see proxy-status)')
    .option('-o, --output <format>', 'yaml|json', 'yaml')
    .action((proxy: string, opts: { output: string }) => configDumpCommand(context(), proxy, opts.output));
  program
    .command('top')
    .description(
      'live per-service rps, success rate, p50/p99 and upstream split from sidecar metrics (read via the control plane)',
    )
    .addOption(
      new Option('--interval <duration>', 'time between readings (rates cover it)')
        .argParser(duration)
        .default(2000, '2s'),
    )
    .option(
      '--once',
      'print one reading (two snapshots an interval apart) and exit; implied when not a terminal',
      false,
    )
    .option('-o, --output <format>', 'table|json (json implies --once)', 'table')
    .action((opts: { interval: number; once: boolean; output: string }) =>
      topCommand(context(), { intervalMs: opts.interval, once: opts.once, output: opts.output }),
    );

  program
    .command('token')
    .description('join tokens: what a sidecar presents (--join-token) for its first workload certificate')
    .command('create')
    .description("a join token for a service's sidecars (the token alone on stdout, or its details with -o)")
    .requiredOption('--service <name>', 'the service the sidecars front')
    .option('--namespace <ns>', 'namespace of the identity', 'default')
    .option('--service-account <sa>', "service account of the identity (default: the service's name)", '')
    .addOption(
      new Option('--ttl <duration>', 'how long the token admits').argParser(duration).default(86_400_000, '24h'),
    )
    .option('-o, --output <format>', 'token|yaml|json', 'token')
    .action((opts: { service: string; namespace: string; serviceAccount: string; ttl: number; output: string }) =>
      tokenCreateCommand(context(), {
        service: opts.service,
        namespace: opts.namespace,
        serviceAccount: opts.serviceAccount,
        ttlMs: opts.ttl,
        output: opts.output,
      }),
    );

  const config = program
    .command('config')
    .description('contexts of the config file (like kubectl config): an API address and a token each');
  config
    .command('get-contexts')
    .description("the config file's contexts; * marks the current one")
    .action(() => {
      const file = configFile();
      if (file === undefined || file.contexts.length === 0) {
        io.stderr.write(`No contexts (${program.opts<GlobalOptions>().config ?? defaultConfigPath(env)}).\n`);
        return;
      }
      const rows = file.contexts.map((c) => [
        c.name === file.currentContext ? '*' : '',
        c.name,
        c.api ?? DEFAULT_API,
        c.token !== undefined ? 'inline' : c.tokenFile !== undefined ? `file ${c.tokenFile}` : '-',
      ]);
      io.stdout.write(renderTable(['CURRENT', 'NAME', 'API', 'TOKEN'], rows));
    });
  config
    .command('use-context')
    .description('make a context the current one (written to the config file)')
    .argument('<name>', 'context name')
    .action((name: string) => {
      const file = configFile();
      if (file === undefined)
        throw new CliError(`no config file at ${program.opts<GlobalOptions>().config ?? defaultConfigPath(env)}`);
      useContext(file, name);
      io.stdout.write(`Switched to context "${name}".\n`);
    });
  config
    .command('current-context')
    .description('the current context')
    .action(() => {
      const current = configFile()?.currentContext;
      if (current === undefined) throw new CliError('no current context is set');
      io.stdout.write(`${current}\n`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const address = ctx?.address ?? resolvedApi ?? program.opts<GlobalOptions>().api ?? DEFAULT_API;
    for (const line of describeFailure(err, address)) io.stderr.write(`error: ${line}\n`);
    return 1;
  } finally {
    ctx?.close();
  }
}
