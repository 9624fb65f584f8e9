// The trellis-sidecar process: flags and env vars, xDS node identity, JSON logs, graceful SIGTERM.
import { availableParallelism, hostname } from 'node:os';
import { type JoinTokenHints, joinTokenHints, MemoryCertificateProvider } from '@trellis/identity';
import { formatTcpUpstreams, NODE_META } from '@trellis/node-contract';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { Stats } from './common/stats.ts';
import { CONNECTION_LIMIT_DEFAULTS } from './listeners/connection-gate.ts';
import {
  batchDelayFromEnv,
  endpointFromEnv,
  endpointUrl,
  OTLP_PROTOCOLS,
  type OtlpProtocol,
  protocolFromEnv,
  samplingFromEnv,
  samplingPercent,
  TracingConfigError,
  tracingSettings,
} from './observers/tracing/tracing-config.ts';
import { Sidecar } from './sidecar.ts';
import { certificateInfo } from './tls/certificate-info.ts';
import {
  bootstrapCredentials,
  followTrustBundle,
  trustControlPlane,
  workloadCredentials,
} from './tls/control-plane-trust.ts';
import { joinTokenArg, joinTokenFromFile } from './tls/join-token-flag.ts';
import { WorkloadIdentity } from './tls/workload-identity.ts';
import { WorkerPool } from './workers/worker-pool.ts';
import { type NodeOptions, XdsClient } from './xds/xds-client.ts';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError('expected a port number 0-65535');
  }
  return n;
}

function nonZeroPort(value: string): number {
  const n = port(value);
  if (n === 0) throw new InvalidArgumentError('expected a port number 1-65535');
  return n;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** '5s', '500ms', '2m', '24h', '1d' or a bare number of milliseconds. */
function ms(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (m === null) throw new InvalidArgumentError('expected a duration such as 5s, 500ms or 24h');
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1));
}

/** 'host:port[,host:port…]' */
function xdsServers(value: string): string[] {
  const servers = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) throw new InvalidArgumentError('expected host:port[,host:port…]');
  for (const s of servers) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):\d{1,5}$/.test(s))
      throw new InvalidArgumentError(`'${s}': expected host:port`);
  }
  return servers;
}

/** 'k=v,k=v' */
function labels(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (key === '') throw new InvalidArgumentError(`'${pair}': expected key=value`);
    out[key] = pair.slice(eq + 1).trim();
  }
  return out;
}

export interface TcpUpstreamFlag {
  service: string;
  port: number;
  localPort: number;
}

/** 'SVC:PORT=LOCALPORT' */
function tcpUpstream(value: string): TcpUpstreamFlag {
  const m = /^\s*([^:=\s]+):(\d+)\s*=\s*(\d+)\s*$/.exec(value);
  if (m === null) throw new InvalidArgumentError(`'${value}': expected SERVICE:PORT=LOCALPORT, e.g. redis:6379=16379`);
  return { service: m[1] as string, port: nonZeroPort(m[2] as string), localPort: nonZeroPort(m[3] as string) };
}

export interface SidecarFlags {
  xds: string[];
  xdsProtocol: 'delta' | 'sotw';
  service: string;
  /** Serve this Gateway's listeners (an edge gateway) instead of a sidecar's inbound and outbound. */
  gateway?: string;
  nodeId?: string;
  appPort?: number;
  inboundAddress: string;
  inboundPort: number;
  advertiseAddress: string;
  outboundPort: number;
  tcpUpstream: TcpUpstreamFlag[];
  labels: Record<string, string>;
  zone: string;
  weight?: number;
  adminAddress: string;
  adminPort: number;
  drainTime: number;
  maxConnections: number;
  maxConnectionsPerClientIp: number;
  /** Threads serving the listeners (--concurrency; default 1, a gateway: every core). */
  concurrency?: number;
  logLevel: string;
  tracingEndpoint?: string;
  tracingProtocol: OtlpProtocol;
  tracingSampling: number;
  tracingBatchDelay: number;
  joinToken?: string;
  joinTokenFile?: string;
  adminToken?: string;
  workloadCertTtl?: number;
}

/** A tracing parser as a flag parser (commander reports InvalidArgumentError with the flag's name). */
function flagParser<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** An env fallback computed by the tracing config; its error already names the variable. */
function envDefault<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof TracingConfigError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** The command line (flags, env defaults, help text); parse errors exit through commander. */
export function buildProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const e = (name: string, fallback: string): string => env[name] ?? fallback;
  const opt = (flags: string, description: string, envName: string): Option =>
    new Option(flags, `${description} (env ${envName})`);
  /** Parses an env default with the flag's parser; a bad value names the variable. */
  const fromEnv = <T>(name: string, parse: (value: string) => T, fallback?: string): T | undefined => {
    const value = env[name] ?? fallback;
    if (value === undefined) return undefined;
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError(`env ${name}=${JSON.stringify(value)}: ${(err as Error).message}`);
    }
  };
  return new Command('trellis-sidecar')
    .description('Trellis sidecar: the L4/L7 proxy beside a service, configured over xDS by the control plane')
    .addOption(
      opt('--xds <addrs>', 'control plane xDS address(es), host:port[,host:port…]; several = failover', 'TRELLIS_XDS')
        .argParser(xdsServers)
        .default(fromEnv('TRELLIS_XDS', xdsServers, '127.0.0.1:18000'), e('TRELLIS_XDS', '127.0.0.1:18000')),
    )
    .addOption(
      opt('--xds-protocol <protocol>', 'ADS variant', 'TRELLIS_XDS_PROTOCOL')
        .choices(['delta', 'sotw'])
        .default(e('TRELLIS_XDS_PROTOCOL', 'delta')),
    )
    .addOption(
      opt('--service <name>', 'the service this sidecar fronts (required)', 'TRELLIS_SERVICE')
        .makeOptionMandatory()
        .default(env['TRELLIS_SERVICE']),
    )
    .addOption(
      opt(
        '--gateway <name>',
        "run as the edge gateway of this Gateway resource: its listeners (bound on --inbound-address) instead of a sidecar's; --service names the gateway's identity",
        'TRELLIS_GATEWAY',
      ).default(env['TRELLIS_GATEWAY']),
    )
    .addOption(
      opt('--node-id <id>', 'xDS node id (default <service>-<hostname>-<pid>)', 'TRELLIS_NODE_ID').default(
        env['TRELLIS_NODE_ID'],
      ),
    )
    .addOption(
      opt('--app-port <port>', "the app's port on loopback (inbound traffic goes there)", 'TRELLIS_APP_PORT')
        .argParser(nonZeroPort)
        .default(fromEnv('TRELLIS_APP_PORT', nonZeroPort)),
    )
    .addOption(
      opt('--inbound-address <ip>', 'inbound listener bind address', 'TRELLIS_INBOUND_ADDRESS').default(
        e('TRELLIS_INBOUND_ADDRESS', '0.0.0.0'),
      ),
    )
    .addOption(
      opt('--inbound-port <port>', 'inbound listener port (what peers connect to)', 'TRELLIS_INBOUND_PORT')
        .argParser(nonZeroPort)
        .default(fromEnv('TRELLIS_INBOUND_PORT', nonZeroPort, '15006')),
    )
    .addOption(
      opt('--advertise-address <ip>', 'the IP peers use to reach this sidecar', 'TRELLIS_ADVERTISE_ADDRESS').default(
        e('TRELLIS_ADVERTISE_ADDRESS', '127.0.0.1'),
      ),
    )
    .addOption(
      opt('--outbound-port <port>', 'outbound HTTP proxy port on 127.0.0.1', 'TRELLIS_OUTBOUND_PORT')
        .argParser(nonZeroPort)
        .default(fromEnv('TRELLIS_OUTBOUND_PORT', nonZeroPort, '15001')),
    )
    .addOption(
      opt(
        '--tcp-upstream <svc:port=localport>',
        'plain TCP upstream reached on 127.0.0.1:localport; repeatable',
        'TRELLIS_TCP_UPSTREAMS, comma-separated',
      )
        .argParser((value: string, previous: TcpUpstreamFlag[]) => [...previous, tcpUpstream(value)])
        .default(
          fromEnv('TRELLIS_TCP_UPSTREAMS', (v) =>
            v
              .split(',')
              .filter((s) => s.trim() !== '')
              .map(tcpUpstream),
          ) ?? [],
          e('TRELLIS_TCP_UPSTREAMS', 'none'),
        ),
    )
    .addOption(
      opt('--labels <k=v,…>', 'endpoint labels (subsets match on them)', 'TRELLIS_LABELS')
        .argParser(labels)
        .default(fromEnv('TRELLIS_LABELS', labels, ''), e('TRELLIS_LABELS', 'none')),
    )
    .addOption(
      opt('--zone <zone>', 'locality zone', 'TRELLIS_ZONE').default(e('TRELLIS_ZONE', ''), e('TRELLIS_ZONE', 'none')),
    )
    .addOption(
      opt('--weight <n>', 'endpoint weight 1-128', 'TRELLIS_WEIGHT')
        .argParser(weight)
        .default(fromEnv('TRELLIS_WEIGHT', weight)),
    )
    .addOption(
      opt('--admin-address <ip>', 'admin server address', 'TRELLIS_ADMIN_ADDRESS').default(
        e('TRELLIS_ADMIN_ADDRESS', '127.0.0.1'),
      ),
    )
    .addOption(
      opt('--admin-port <port>', 'admin server port, 0 = any (the bound port is logged)', 'TRELLIS_ADMIN_PORT')
        .argParser(port)
        .default(fromEnv('TRELLIS_ADMIN_PORT', port, '15000')),
    )
    .addOption(
      opt('--drain-time <duration>', 'how long SIGTERM lets in-flight requests finish', 'TRELLIS_DRAIN_TIME')
        .argParser(ms)
        .default(fromEnv('TRELLIS_DRAIN_TIME', ms, '5s'), e('TRELLIS_DRAIN_TIME', '5s')),
    )
    .addOption(
      opt(
        '--max-connections <n>',
        'open downstream connections per listener; new ones beyond are refused (0 = unlimited)',
        'TRELLIS_MAX_CONNECTIONS',
      )
        .argParser(count)
        .default(fromEnv('TRELLIS_MAX_CONNECTIONS', count, String(CONNECTION_LIMIT_DEFAULTS.maxConnections))),
    )
    .addOption(
      opt(
        '--max-connections-per-client-ip <n>',
        'open downstream connections from one client IP per listener (0 = unlimited)',
        'TRELLIS_MAX_CONNECTIONS_PER_CLIENT_IP',
      )
        .argParser(count)
        .default(
          fromEnv(
            'TRELLIS_MAX_CONNECTIONS_PER_CLIENT_IP',
            count,
            String(CONNECTION_LIMIT_DEFAULTS.maxConnectionsPerClientIp),
          ),
        ),
    )
    .addOption(
      opt(
        '--concurrency <n|auto>',
        'worker threads serving the listeners, each accepting on the same ports (SO_REUSEPORT) with the config of the one xDS client; auto = the cores available (default 1; a --gateway: auto)',
        'TRELLIS_CONCURRENCY',
      )
        .argParser(concurrencyArg)
        .default(fromEnv('TRELLIS_CONCURRENCY', concurrencyArg, undefined)),
    )
    .addOption(
      opt(
        '--join-token <token>',
        'a join token (trellisctl token create --service S): the sidecar gets a workload certificate from the mesh CA and rotates it at half-life',
        'TRELLIS_JOIN_TOKEN',
      )
        .argParser(joinTokenArg)
        .default(fromEnv('TRELLIS_JOIN_TOKEN', joinTokenArg, undefined)),
    )
    .addOption(
      opt(
        '--join-token-file <path>',
        'read the join token from this file at start (a mounted secret), instead of --join-token',
        'TRELLIS_JOIN_TOKEN_FILE',
      ).default(env['TRELLIS_JOIN_TOKEN_FILE']),
    )
    .addOption(
      opt(
        '--admin-token <token>',
        'what the admin POSTs (/drain, /logging, /cache/purge) need as a bearer token when --admin-address is not loopback',
        'TRELLIS_ADMIN_TOKEN',
      ).default(env['TRELLIS_ADMIN_TOKEN']),
    )
    .addOption(
      opt(
        '--workload-cert-ttl <duration>',
        "lifetime to ask for the workload certificate (default: the CA's)",
        'TRELLIS_WORKLOAD_CERT_TTL',
      )
        .argParser(ms)
        .default(fromEnv('TRELLIS_WORKLOAD_CERT_TTL', ms)),
    )
    .addOption(
      opt('--log-level <level>', 'log level', 'TRELLIS_LOG_LEVEL')
        .choices(LEVELS)
        .default(e('TRELLIS_LOG_LEVEL', 'info')),
    )
    .addOption(
      opt(
        '--tracing-endpoint <url>',
        'OTLP traces endpoint (http/protobuf: a URL without a path gets /v1/traces); unset = tracing off',
        'TRELLIS_TRACING_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT',
      )
        .argParser(flagParser(endpointUrl))
        .default(envDefault(() => endpointFromEnv(env))),
    )
    .addOption(
      opt(
        '--tracing-protocol <protocol>',
        'OTLP transport',
        'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL',
      )
        .choices(OTLP_PROTOCOLS)
        .default(envDefault(() => protocolFromEnv(env))),
    )
    .addOption(
      opt(
        '--tracing-sampling <percent>',
        'percent of new traces sampled (a parent decision wins; the control plane may override per listener)',
        'TRELLIS_TRACING_SAMPLING, OTEL_TRACES_SAMPLER + OTEL_TRACES_SAMPLER_ARG',
      )
        .argParser(flagParser(samplingPercent))
        .default(envDefault(() => samplingFromEnv(env))),
    )
    .addOption(
      opt(
        '--tracing-batch-delay <duration>',
        'how long spans wait to be exported in a batch',
        'OTEL_BSP_SCHEDULE_DELAY, ms',
      )
        .argParser(ms)
        .default(
          envDefault(() => batchDelayFromEnv(env)),
          '5s',
        ),
    )
    .showHelpAfterError();
}

/** The most worker threads a sidecar starts (each holds its own config and connection pools). */
const MAX_CONCURRENCY = 64;

/** Platforms whose sockets have SO_REUSEPORT (Node refuses `reusePort` elsewhere): threads share ports only there. */
const REUSE_PORT_PLATFORMS: ReadonlySet<string> = new Set(['linux', 'freebsd', 'sunos', 'aix']);

/** --concurrency: a thread count, or `auto` for the cores this process may use (1 without SO_REUSEPORT). */
function concurrencyArg(value: string): number {
  const reusePort = REUSE_PORT_PLATFORMS.has(process.platform);
  if (value.trim() === 'auto') return reusePort ? Math.min(availableParallelism(), MAX_CONCURRENCY) : 1;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > MAX_CONCURRENCY)
    throw new InvalidArgumentError(`expected auto or a thread count from 1 to ${MAX_CONCURRENCY}`);
  if (n > 1 && !reusePort)
    throw new InvalidArgumentError(`threads share ports with SO_REUSEPORT, which ${process.platform} does not have`);
  return n;
}

/** A count, 0 or more. */
function count(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected an integer >= 0');
  return n;
}

function weight(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 128) throw new InvalidArgumentError('expected an integer 1-128');
  return n;
}

/** The xDS node this sidecar announces: identity, locality and the TRELLIS_* metadata (docs/xds.md). */
export function nodeOf(flags: SidecarFlags, host = hostname(), pid = process.pid): NodeOptions {
  const metadata: NodeOptions['metadata'] = {
    [NODE_META.proxy]: 'sidecar',
    [NODE_META.service]: flags.service,
    [NODE_META.address]: flags.advertiseAddress,
    [NODE_META.port]: String(flags.inboundPort),
    [NODE_META.inboundAddress]: flags.inboundAddress,
    [NODE_META.outboundPort]: String(flags.outboundPort),
    [NODE_META.labels]: flags.labels,
  };
  if (flags.appPort !== undefined) metadata[NODE_META.appPort] = String(flags.appPort);
  if (flags.gateway !== undefined && flags.gateway !== '') metadata[NODE_META.gateway] = flags.gateway;
  if (flags.tcpUpstream.length > 0) metadata[NODE_META.tcpUpstreams] = formatTcpUpstreams(flags.tcpUpstream);
  if (flags.weight !== undefined) metadata[NODE_META.weight] = String(flags.weight);
  return {
    id: flags.nodeId ?? `${flags.service}-${host}-${pid}`,
    cluster: flags.service,
    zone: flags.zone,
    metadata,
  };
}

/** Parses argv (exits on --help or a bad flag, as commander does). */
export function parseFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): SidecarFlags {
  const program = buildProgram(env);
  program.parse(argv);
  return program.opts<SidecarFlags>();
}

export async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  if (flags.joinTokenFile !== undefined) {
    if (flags.joinToken !== undefined) throw new Error('give --join-token or --join-token-file, not both');
    flags.joinToken = joinTokenFromFile(flags.joinTokenFile);
  }
  const node = nodeOf(flags);
  const logger = pino({ level: flags.logLevel, base: { proxy: 'trellis-sidecar', service: flags.service } });
  // OpenTelemetry (the SDK and the OTLP exporters, ~10 MB) is loaded only when tracing is on.
  const settings = tracingSettings(flags, process.env);
  const tracing =
    settings === undefined ? undefined : (await import('./observers/tracing/otlp-tracing.ts')).startTracing(settings);
  if (tracing !== undefined) {
    const { endpoint, protocol, samplingPercent, serviceName } = tracing.settings;
    logger.info({ endpoint, protocol, samplingPercent, serviceName }, 'tracing on');
  }
  // With a join token, every call to the control plane is TLS to the root the token pins: the first certificate
  // request shows the token, ADS streams the workload certificate (fed to `provider` on every rotation).
  const trust =
    flags.joinToken === undefined
      ? undefined
      : await trustControlPlane(flags.xds, joinTokenHints(flags.joinToken) as JoinTokenHints, logger);
  const provider = new MemoryCertificateProvider();
  const xds = new XdsClient({
    servers: flags.xds,
    node,
    protocol: flags.xdsProtocol,
    logger,
    ...(trust === undefined ? {} : { credentials: workloadCredentials(trust, provider) }),
  });
  const stats = new Stats();
  const identity =
    flags.joinToken === undefined || trust === undefined
      ? undefined
      : new WorkloadIdentity({
          addresses: flags.xds,
          credentials: bootstrapCredentials(trust, provider),
          token: flags.joinToken,
          service: flags.service,
          ...(flags.workloadCertTtl === undefined ? {} : { ttlSeconds: Math.ceil(flags.workloadCertTtl / 1000) }),
          stats,
          logger: logger.child({ component: 'identity' }),
        });
  if (identity !== undefined && trust !== undefined) {
    // The control plane is trusted through the pinned root and the bundle it sends (a root rotation moves it).
    followTrustBundle(trust, provider, xds);
    identity.onChange((cert) => provider.setIdentity(cert.keyPem, cert.chainPem));
    // Peers reach this sidecar over mesh mTLS once it holds its certificate: it announces that (TRELLIS_MTLS) and
    // starts serving only then.
    node.metadata[NODE_META.mtls] = 'true';
  }
  const concurrency =
    flags.concurrency ?? (flags.gateway !== undefined && flags.gateway !== '' ? concurrencyArg('auto') : 1);
  const connectionLimits = {
    maxConnections: flags.maxConnections,
    maxConnectionsPerClientIp: flags.maxConnectionsPerClientIp,
  };
  // Worker threads 1…N-1 beside this one: the config of the one xDS client and the workload certificate follow them.
  const workers =
    concurrency <= 1
      ? undefined
      : new WorkerPool(
          {
            concurrency,
            logLevel: flags.logLevel,
            logBase: { proxy: 'trellis-sidecar', service: flags.service },
            connectionLimits,
            ...(flags.zone ? { localZone: flags.zone } : {}),
            ...(tracing === undefined ? {} : { tracing: tracing.settings }),
            identity: identity !== undefined,
          },
          logger,
        );
  if (workers !== undefined) {
    const relay = (): void => workers.relayConfig(xds.exportResources());
    xds.onChange(relay);
    // A first complete config equal to the empty one announces no change: it is relayed once ready all the same.
    void xds.ready().then(relay);
    identity?.onChange((cert) => workers.relayCertificate(cert));
  }
  const sidecar = new Sidecar({
    stats,
    concurrency: { threads: concurrency, index: 0 },
    ...(workers === undefined ? {} : { workers }),
    ...(identity === undefined ? {} : { identity, certificates: () => certificateInfo(identity.current) }),
    source: xds,
    logger,
    admin: {
      address: flags.adminAddress,
      port: flags.adminPort,
      ...(flags.adminToken === undefined ? {} : { token: flags.adminToken }),
    },
    connectionLimits,
    ...(flags.zone ? { localZone: flags.zone } : {}),
    readyLogFields: { nodeId: node.id, xds: flags.xds },
    ...(tracing === undefined ? {} : { observers: [tracing.factory] }),
    onStop: async () => {
      identity?.stop();
      await tracing?.shutdown();
    },
    // The control plane reads sidecar metrics (trellisctl top) from the admin address announced here.
    onAdminBound: (address, port) => {
      node.metadata[NODE_META.adminAddress] =
        address === '0.0.0.0' || address === '::' ? flags.advertiseAddress : address;
      node.metadata[NODE_META.adminPort] = String(port);
    },
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainTimeMs: flags.drainTime }, 'stopping: draining');
    sidecar.stop(flags.drainTime).then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (identity !== undefined) {
    logger.info('waiting for the workload certificate');
    await identity.start();
    if (workers !== undefined && identity.current !== undefined) workers.relayCertificate(identity.current);
  }
  const { adminPort } = await sidecar.start();
  logger.info(
    { nodeId: node.id, adminPort, xds: flags.xds, protocol: flags.xdsProtocol, concurrency },
    'sidecar started',
  );
}
