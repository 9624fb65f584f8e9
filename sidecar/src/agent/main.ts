// trellis-agent: a workload identity without a proxy, for proxyless gRPC (as istio-agent does): joins with a token,
// keeps the certificate files gRPC's file_watcher provider reads, rotating them at half-life, and with --xds-proxy
// carries the app's ADS streams to the control plane over mTLS.
import { type JoinTokenHints, joinTokenHints, MemoryCertificateProvider } from '@trellis/identity';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { Stats } from '../common/stats.ts';
import { bootstrapCredentials, trustControlPlane, workloadCredentials } from '../tls/control-plane-trust.ts';
import { joinTokenArg, joinTokenFromFile } from '../tls/join-token-flag.ts';
import { WorkloadIdentity } from '../tls/workload-identity.ts';
import { CERT_FILES, writeCertFiles } from './cert-files.ts';
import { startXdsProxy, type XdsProxy } from './xds-proxy.ts';

export interface AgentFlags {
  xds: string[];
  service: string;
  joinToken?: string;
  joinTokenFile?: string;
  certsDir: string;
  workloadCertTtl?: number;
  xdsProxy?: string;
  logLevel: string;
}

function servers(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0 || !list.every((s) => /^(\[[^\]]+\]|[^:\s]+):\d+$/.test(s)))
    throw new InvalidArgumentError('expected host:port[,host:port…]');
  return list;
}

function duration(value: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(value.trim());
  if (m === null) throw new InvalidArgumentError('expected a duration such as 30s, 10m or 24h');
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

export function buildAgentProgram(env: NodeJS.ProcessEnv = process.env): Command {
  return new Command('trellis-agent')
    .description(
      "a workload identity for proxyless gRPC: the mesh CA's certificate as files for gRPC's file_watcher provider",
    )
    .addOption(
      new Option('--xds <addrs>', 'control plane xDS address(es), host:port[,…] (env TRELLIS_XDS)')
        .argParser(servers)
        .default(servers(env['TRELLIS_XDS'] ?? '127.0.0.1:18000'), env['TRELLIS_XDS'] ?? '127.0.0.1:18000'),
    )
    .requiredOption('--service <name>', 'the service whose identity the token grants', env['TRELLIS_SERVICE'])
    .addOption(
      new Option('--join-token <token>', 'a join token (trellisctl token create --service S) (env TRELLIS_JOIN_TOKEN)')
        .argParser(joinTokenArg)
        .default(env['TRELLIS_JOIN_TOKEN'] === undefined ? undefined : joinTokenArg(env['TRELLIS_JOIN_TOKEN'])),
    )
    .option(
      '--join-token-file <path>',
      'read the join token from this file (env TRELLIS_JOIN_TOKEN_FILE)',
      env['TRELLIS_JOIN_TOKEN_FILE'],
    )
    .requiredOption(
      '--certs-dir <dir>',
      `where to keep ${Object.values(CERT_FILES).join(', ')} (env TRELLIS_CERTS_DIR)`,
      env['TRELLIS_CERTS_DIR'],
    )
    .addOption(
      new Option('--workload-cert-ttl <duration>', "lifetime to ask for (default: the CA's)").argParser(duration),
    )
    .option(
      '--xds-proxy <socket>',
      "serve ADS on this Unix socket (0600) for the app's bootstrap (server_uri unix://…), carried to the control plane over mTLS (env TRELLIS_XDS_PROXY)",
      env['TRELLIS_XDS_PROXY'],
    )
    .option('--log-level <level>', 'pino log level (env TRELLIS_LOG_LEVEL)', env['TRELLIS_LOG_LEVEL'] ?? 'info');
}

export async function main(argv: string[]): Promise<void> {
  const program = buildAgentProgram();
  program.parse(argv);
  const flags = program.opts<AgentFlags>();
  if (flags.joinTokenFile !== undefined) {
    if (flags.joinToken !== undefined) throw new Error('give --join-token or --join-token-file, not both');
    flags.joinToken = joinTokenFromFile(flags.joinTokenFile);
  }
  if (flags.joinToken === undefined) throw new Error('a join token is required: --join-token or --join-token-file');
  const logger = pino({ level: flags.logLevel, base: { proxy: 'trellis-agent', service: flags.service } });
  const trust = await trustControlPlane(flags.xds, joinTokenHints(flags.joinToken) as JoinTokenHints, logger);
  const identity = new WorkloadIdentity({
    addresses: flags.xds,
    credentials: bootstrapCredentials(trust),
    token: flags.joinToken,
    service: flags.service,
    ...(flags.workloadCertTtl === undefined ? {} : { ttlSeconds: Math.ceil(flags.workloadCertTtl / 1000) }),
    stats: new Stats(),
    logger,
  });
  // The xDS proxy's channels to the control plane: the workload certificate (every rotation) and the pinned root.
  const provider = new MemoryCertificateProvider();
  provider.setTrustBundle([trust.rootPem]);
  identity.onChange((cert) => {
    provider.setIdentity(cert.keyPem, cert.chainPem);
    try {
      writeCertFiles(flags.certsDir, { chainPem: cert.chainPem, keyPem: cert.keyPem, rootsPem: trust.rootPem });
      logger.info({ dir: flags.certsDir, spiffeId: cert.spiffeId }, 'certificate files written');
    } catch (err) {
      logger.error({ err, dir: flags.certsDir }, 'writing the certificate files failed');
    }
  });
  // The process lives for its rotation timer; SIGTERM ends it.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let proxy: XdsProxy | undefined;
  const stop = (): void => {
    identity.stop();
    clearInterval(keepAlive);
    void (proxy?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await identity.start();
  if (flags.xdsProxy !== undefined) {
    proxy = await startXdsProxy({
      socketPath: flags.xdsProxy,
      upstreams: flags.xds,
      credentials: workloadCredentials(trust, provider),
      logger,
    });
  }
  logger.info(
    { dir: flags.certsDir, ...(flags.xdsProxy === undefined ? {} : { xdsProxy: flags.xdsProxy }) },
    'agent ready',
  );
}
