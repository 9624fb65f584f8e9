// The trellis-control-plane process: flags and env vars, JSON logs, metrics port, tracing, graceful SIGTERM.
import path from 'node:path';
import { isTrustDomain } from '@trellis/identity';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { ApiAuth } from './api/api-auth.ts';
import { ControlPlane, DEFAULT_DEBOUNCE, DEFAULT_TRUST_DOMAIN } from './control-plane.ts';
import { MAX_WORKLOAD_TTL_MS, MIN_WORKLOAD_TTL_MS } from './identity/mesh-ca.ts';
import { parseDuration } from './resources/duration.ts';
import { FileStore } from './store/file-store.ts';
import { noTracing, type Tracing, tracingTarget } from './telemetry/tracing-target.ts';
import { DEFAULT_ADMISSION } from './xds/admission.ts';
import { DEFAULT_IN_FLIGHT } from './xds/in-flight.ts';

const MiB = 1024 * 1024;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

function ms(value: string): number {
  const n = parseDuration(value);
  if (n === undefined) throw new InvalidArgumentError('expected a duration such as 10s or 500ms');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function durationOption(flag: string, env: string, help: string, fallback: string): Option {
  const value = process.env[env] ?? fallback;
  return new Option(`${flag} <duration>`, `${help} (env ${env})`).argParser(ms).default(ms(value), value);
}

function numberOption(flag: string, env: string, help: string, fallback: number): Option {
  const value = process.env[env];
  return new Option(`${flag} <n>`, `${help} (env ${env})`)
    .argParser(positive)
    .default(value === undefined ? fallback : positive(value));
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export async function main(argv: string[]): Promise<void> {
  const env = process.env;
  const program = new Command('trellis-control-plane')
    .description('Trellis control plane: xDS v3 server (ADS, SotW and Delta) and the operator gRPC API')
    .option(
      '--data-dir <dir>',
      'embedded store directory (env TRELLIS_DATA_DIR)',
      env['TRELLIS_DATA_DIR'] ?? '.trellis/data',
    )
    .option('--xds-host <host>', 'xDS listen address (env TRELLIS_XDS_HOST)', env['TRELLIS_XDS_HOST'] ?? '0.0.0.0')
    .option(
      '--xds-port <port>',
      'xDS gRPC port over TLS (sidecars show their workload certificate), 0 = any (env TRELLIS_XDS_PORT)',
      port,
      port(env['TRELLIS_XDS_PORT'] ?? '18000'),
    )
    .option(
      '--xds-insecure-port <port>',
      'also serve xDS in plaintext here, for clients without certificates (proxyless gRPC); anyone reaching it reads ' +
        'the mesh configuration; off by default (env TRELLIS_XDS_INSECURE_PORT)',
      port,
      env['TRELLIS_XDS_INSECURE_PORT'] === undefined ? undefined : port(env['TRELLIS_XDS_INSECURE_PORT']),
    )
    .option(
      '--xds-insecure-announce',
      'proxies on the plaintext port may announce endpoints: unauthenticated, any of them can take over a service; ' +
        'development only (env TRELLIS_XDS_INSECURE_ANNOUNCE=true)',
      env['TRELLIS_XDS_INSECURE_ANNOUNCE'] === 'true',
    )
    .addOption(
      new Option(
        '--announced-address <rule>',
        "peer: a proxy announces only its own address (the stream's peer IP); any: proxies reach the control " +
          'plane through NAT (env TRELLIS_ANNOUNCED_ADDRESS)',
      )
        .choices(['peer', 'any'])
        .default(env['TRELLIS_ANNOUNCED_ADDRESS'] ?? 'peer'),
    )
    .option(
      '--api-host <host>',
      'operator API listen address (env TRELLIS_API_HOST)',
      env['TRELLIS_API_HOST'] ?? '127.0.0.1',
    )
    .option(
      '--api-port <port>',
      'operator API gRPC port, 0 = any (env TRELLIS_API_PORT)',
      port,
      port(env['TRELLIS_API_PORT'] ?? '18001'),
    )
    .option(
      '--metrics-host <host>',
      'metrics listen address (env TRELLIS_METRICS_HOST)',
      env['TRELLIS_METRICS_HOST'] ?? '127.0.0.1',
    )
    .option(
      '--metrics-port <port>',
      'metrics HTTP port (GET /metrics, /healthz), 0 = any (env TRELLIS_METRICS_PORT)',
      port,
      port(env['TRELLIS_METRICS_PORT'] ?? '18002'),
    )
    .option(
      '--tracing-endpoint <url>',
      'OTLP endpoint for control-plane spans, e.g. http://127.0.0.1:4318 (default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, ' +
        'else OTEL_EXPORTER_OTLP_ENDPOINT; off when none)',
    )
    .addOption(
      new Option(
        '--endpoint-grace <duration>',
        'how long a disconnected proxy keeps its endpoint (env TRELLIS_ENDPOINT_GRACE)',
      )
        .argParser(ms)
        .default(ms(env['TRELLIS_ENDPOINT_GRACE'] ?? '10s'), env['TRELLIS_ENDPOINT_GRACE'] ?? '10s'),
    )
    .addOption(
      durationOption(
        '--debounce-quiet',
        'TRELLIS_DEBOUNCE_QUIET',
        'publish changes once none came for this long',
        `${DEFAULT_DEBOUNCE.quietMs}ms`,
      ),
    )
    .addOption(
      durationOption(
        '--jwks-refresh',
        'TRELLIS_JWKS_REFRESH',
        'fetch the JWKS of RequestAuthentication jwksUri again this often',
        '20m',
      ),
    )
    .addOption(
      durationOption(
        '--debounce-max',
        'TRELLIS_DEBOUNCE_MAX',
        'publish a burst of changes at the latest this long after its first change',
        `${DEFAULT_DEBOUNCE.maxMs / 1000}s`,
      ),
    )
    .addOption(
      numberOption(
        '--admission-rate',
        'TRELLIS_ADMISSION_RATE',
        'first configurations served per second to new xDS streams',
        DEFAULT_ADMISSION.ratePerSecond,
      ),
    )
    .addOption(
      numberOption(
        '--admission-burst',
        'TRELLIS_ADMISSION_BURST',
        'first configurations served at once before the rate applies',
        DEFAULT_ADMISSION.burst,
      ),
    )
    .addOption(
      numberOption(
        '--inflight-budget-mib',
        'TRELLIS_INFLIGHT_BUDGET_MIB',
        'new xDS streams wait while responses of this many MiB are unanswered',
        DEFAULT_IN_FLIGHT.budgetBytes / MiB,
      ),
    )
    .option(
      '--api-tokens <file>',
      'operator API tokens (YAML/JSON list of { name, role: admin|read-only, sha256 }); every call then needs one; required when --api-host is not loopback (env TRELLIS_API_TOKENS)',
      env['TRELLIS_API_TOKENS'],
    )
    .option(
      '--trust-domain <domain>',
      'SPIFFE trust domain of the mesh CA (env TRELLIS_TRUST_DOMAIN)',
      env['TRELLIS_TRUST_DOMAIN'] ?? DEFAULT_TRUST_DOMAIN,
    )
    .option(
      '--ca-dir <dir>',
      'a plug-in CA instead of the generated root: ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem (env TRELLIS_CA_DIR)',
      env['TRELLIS_CA_DIR'],
    )
    .addOption(
      new Option(
        '--mtls <mode>',
        'mesh mTLS between sidecars holding workload certificates: permissive (also plaintext inbound), strict, off (env TRELLIS_MTLS)',
      )
        .choices(['permissive', 'strict', 'off'])
        .default(env['TRELLIS_MTLS'] ?? 'permissive'),
    )
    .addOption(
      durationOption(
        '--workload-cert-ttl',
        'TRELLIS_WORKLOAD_CERT_TTL',
        'lifetime of workload certificates (1m to 90d)',
        '24h',
      ),
    )
    .addOption(
      durationOption(
        '--min-workload-cert-ttl',
        'TRELLIS_MIN_WORKLOAD_CERT_TTL',
        'the shortest workload certificate lifetime a sidecar may ask for (lower than 1m only to test rotation)',
        '1m',
      ),
    )
    .option(
      '--log-level <level>',
      `log level: ${LEVELS.join('|')} (env TRELLIS_LOG_LEVEL)`,
      env['TRELLIS_LOG_LEVEL'] ?? 'info',
    )
    .showHelpAfterError();
  program.parse(argv);
  const o = program.opts<{
    dataDir: string;
    xdsHost: string;
    xdsPort: number;
    xdsInsecurePort?: number;
    xdsInsecureAnnounce: boolean;
    announcedAddress: 'peer' | 'any';
    apiHost: string;
    apiPort: number;
    metricsHost: string;
    metricsPort: number;
    tracingEndpoint?: string;
    endpointGrace: number;
    debounceQuiet: number;
    debounceMax: number;
    jwksRefresh: number;
    admissionRate: number;
    admissionBurst: number;
    inflightBudgetMib: number;
    apiTokens?: string;
    trustDomain: string;
    caDir?: string;
    workloadCertTtl: number;
    minWorkloadCertTtl: number;
    mtls: 'permissive' | 'strict' | 'off';
    logLevel: string;
  }>();
  let apiAuth: ApiAuth | undefined;
  if (o.apiTokens !== undefined) {
    try {
      apiAuth = ApiAuth.load(path.resolve(o.apiTokens));
    } catch (err) {
      program.error(`error: option '--api-tokens': ${(err as Error).message}`);
    }
  } else if (!isLoopbackHost(o.apiHost)) {
    program.error(
      `error: option '--api-host' ${o.apiHost} is reachable beyond this machine: give the API credentials with --api-tokens`,
    );
  }
  if (o.xdsInsecureAnnounce && o.xdsInsecurePort === undefined)
    program.error("error: option '--xds-insecure-announce' needs '--xds-insecure-port' (announcements on which port?)");
  if (!isTrustDomain(o.trustDomain))
    program.error(
      `error: option '--trust-domain' expected lower-case letters, digits, ".", "-" or "_", got '${o.trustDomain}'`,
    );
  if (o.minWorkloadCertTtl < 1000 || o.minWorkloadCertTtl > MIN_WORKLOAD_TTL_MS)
    program.error("error: option '--min-workload-cert-ttl' expected a duration from 1s to 1m");
  if (o.workloadCertTtl < o.minWorkloadCertTtl || o.workloadCertTtl > MAX_WORKLOAD_TTL_MS)
    program.error("error: option '--workload-cert-ttl' expected a duration from --min-workload-cert-ttl (1m) to 90d");
  if (!LEVELS.includes(o.logLevel))
    program.error(`error: option '--log-level' expected one of ${LEVELS.join('|')}, got '${o.logLevel}'`);
  if (o.debounceMax < o.debounceQuiet)
    program.error(`error: option '--debounce-max' must be at least '--debounce-quiet' (${o.debounceQuiet} ms)`);
  let tracing: Tracing | undefined;
  try {
    // The OpenTelemetry SDK and its OTLP exporters are loaded only when spans have somewhere to go.
    tracing =
      tracingTarget(o.tracingEndpoint, env) === undefined
        ? noTracing()
        : (await import('./telemetry/tracing.ts')).startTracing({ flag: o.tracingEndpoint, env });
  } catch (err) {
    program.error(`error: ${(err as Error).message}`);
  }
  if (!tracing) return;
  const logger = pino({ level: o.logLevel, base: { service: 'trellis-control-plane' } });
  const dataDir = path.resolve(o.dataDir);
  if (tracing.target) logger.info({ ...tracing.target }, 'tracing enabled');
  const cp = await ControlPlane.start({
    store: new FileStore(dataDir),
    logger,
    xdsHost: o.xdsHost,
    xdsPort: o.xdsPort,
    ...(o.xdsInsecurePort === undefined ? {} : { xdsInsecurePort: o.xdsInsecurePort }),
    announcements: { allowPlaintext: o.xdsInsecureAnnounce, address: o.announcedAddress },
    apiHost: o.apiHost,
    apiPort: o.apiPort,
    endpointGraceMs: o.endpointGrace,
    debounceQuietMs: o.debounceQuiet,
    debounceMaxMs: o.debounceMax,
    jwksRefreshMs: o.jwksRefresh,
    admission: { ratePerSecond: o.admissionRate, burst: o.admissionBurst },
    inFlight: { budgetBytes: o.inflightBudgetMib * MiB },
    metricsHost: o.metricsHost,
    metricsPort: o.metricsPort,
    tracing,
    dataDir,
    ...(apiAuth === undefined ? {} : { apiAuth }),
    identity: {
      trustDomain: o.trustDomain,
      workloadTtlMs: o.workloadCertTtl,
      minWorkloadTtlMs: o.minWorkloadCertTtl,
      mtls: o.mtls,
      ...(o.caDir === undefined ? {} : { pluginDir: path.resolve(o.caDir) }),
    },
  });
  logger.info({ dataDir }, 'ready');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    cp.stop(5000)
      .then(() => tracing.shutdown())
      .then(
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
}

/** 127.0.0.0/8, ::1 and localhost: an API there is reachable from this machine only. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
