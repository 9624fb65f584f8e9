// The sidecar command line: flags and env defaults, node metadata, and the real bin's --help and flag errors.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { buildProgram, nodeOf, type SidecarFlags } from './main.ts';

const BIN = fileURLToPath(new URL('../bin/trellis-sidecar.js', import.meta.url));

function flags(args: string[], env: NodeJS.ProcessEnv = {}): SidecarFlags {
  const program = buildProgram(env)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  program.parse(args, { from: 'user' });
  return program.opts<SidecarFlags>();
}

async function runBin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

describe('trellis-sidecar command line', () => {
  it('has the documented defaults', () => {
    const f = flags(['--service', 'orders']);
    expect(f).to.deep.include({
      xds: ['127.0.0.1:18000'],
      xdsProtocol: 'delta',
      service: 'orders',
      inboundAddress: '0.0.0.0',
      inboundPort: 15006,
      advertiseAddress: '127.0.0.1',
      outboundPort: 15001,
      tcpUpstream: [],
      labels: {},
      zone: '',
      adminAddress: '127.0.0.1',
      adminPort: 15000,
      drainTime: 5000,
      maxConnections: 8192,
      maxConnectionsPerClientIp: 2048,
      logLevel: 'info',
      tracingProtocol: 'http/protobuf',
      tracingSampling: 100,
      tracingBatchDelay: 5000,
    });
    expect(f.tracingEndpoint).to.equal(undefined);
    expect(f.appPort).to.equal(undefined);
    expect(f.nodeId).to.equal(undefined);
  });

  it('reads every flag, with repeatable --tcp-upstream and several xDS servers', () => {
    const f = flags([
      '--xds',
      'cp-a:18000,[::1]:18000',
      '--xds-protocol',
      'sotw',
      '--service',
      'web',
      '--node-id',
      'web-1',
      '--app-port',
      '8080',
      '--inbound-address',
      '127.0.0.1',
      '--inbound-port',
      '25006',
      '--advertise-address',
      '10.1.2.3',
      '--outbound-port',
      '25001',
      '--tcp-upstream',
      'redis:6379=16379',
      '--tcp-upstream',
      'db:5432=15432',
      '--labels',
      'version=v2,track=canary',
      '--zone',
      'eu-1a',
      '--weight',
      '3',
      '--admin-address',
      '0.0.0.0',
      '--admin-port',
      '0',
      '--drain-time',
      '2s',
      '--max-connections',
      '100',
      '--max-connections-per-client-ip',
      '0',
      '--log-level',
      'warn',
      '--tracing-endpoint',
      'http://collector:4318',
      '--tracing-protocol',
      'grpc',
      '--tracing-sampling',
      '2.5',
      '--tracing-batch-delay',
      '200ms',
    ]);
    expect(f).to.deep.equal({
      xds: ['cp-a:18000', '[::1]:18000'],
      xdsProtocol: 'sotw',
      service: 'web',
      nodeId: 'web-1',
      appPort: 8080,
      inboundAddress: '127.0.0.1',
      inboundPort: 25006,
      advertiseAddress: '10.1.2.3',
      outboundPort: 25001,
      tcpUpstream: [
        { service: 'redis', port: 6379, localPort: 16379 },
        { service: 'db', port: 5432, localPort: 15432 },
      ],
      labels: { version: 'v2', track: 'canary' },
      zone: 'eu-1a',
      weight: 3,
      adminAddress: '0.0.0.0',
      adminPort: 0,
      drainTime: 2000,
      maxConnections: 100,
      maxConnectionsPerClientIp: 0,
      logLevel: 'warn',
      tracingEndpoint: 'http://collector:4318',
      tracingProtocol: 'grpc',
      tracingSampling: 2.5,
      tracingBatchDelay: 200,
    });
  });

  it('takes every flag from its env var', () => {
    const f = flags([], {
      TRELLIS_XDS: '10.0.0.1:18000,10.0.0.2:18000',
      TRELLIS_XDS_PROTOCOL: 'sotw',
      TRELLIS_SERVICE: 'cache',
      TRELLIS_NODE_ID: 'n1',
      TRELLIS_APP_PORT: '7000',
      TRELLIS_INBOUND_ADDRESS: '127.0.0.2',
      TRELLIS_INBOUND_PORT: '16006',
      TRELLIS_ADVERTISE_ADDRESS: '10.9.9.9',
      TRELLIS_OUTBOUND_PORT: '16001',
      TRELLIS_TCP_UPSTREAMS: 'a:1=2,b:3=4',
      TRELLIS_LABELS: 'version=v1',
      TRELLIS_ZONE: 'z',
      TRELLIS_WEIGHT: '5',
      TRELLIS_ADMIN_ADDRESS: '127.0.0.3',
      TRELLIS_ADMIN_PORT: '16000',
      TRELLIS_DRAIN_TIME: '750ms',
      TRELLIS_MAX_CONNECTIONS: '10',
      TRELLIS_MAX_CONNECTIONS_PER_CLIENT_IP: '5',
      TRELLIS_LOG_LEVEL: 'debug',
      TRELLIS_TRACING_ENDPOINT: 'http://otel:4318/v1/traces',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc',
      TRELLIS_TRACING_SAMPLING: '1',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    expect(f).to.deep.equal({
      xds: ['10.0.0.1:18000', '10.0.0.2:18000'],
      xdsProtocol: 'sotw',
      service: 'cache',
      nodeId: 'n1',
      appPort: 7000,
      inboundAddress: '127.0.0.2',
      inboundPort: 16006,
      advertiseAddress: '10.9.9.9',
      outboundPort: 16001,
      tcpUpstream: [
        { service: 'a', port: 1, localPort: 2 },
        { service: 'b', port: 3, localPort: 4 },
      ],
      labels: { version: 'v1' },
      zone: 'z',
      weight: 5,
      adminAddress: '127.0.0.3',
      adminPort: 16000,
      drainTime: 750,
      maxConnections: 10,
      maxConnectionsPerClientIp: 5,
      logLevel: 'debug',
      tracingEndpoint: 'http://otel:4318/v1/traces',
      tracingProtocol: 'grpc',
      tracingSampling: 1,
      tracingBatchDelay: 100,
    });
    // A flag beats its env var.
    expect(
      flags(['--inbound-port', '1234'], { TRELLIS_SERVICE: 's', TRELLIS_INBOUND_PORT: '16006' }).inboundPort,
    ).to.equal(1234);
  });

  it('falls back to the standard OTEL_* variables for tracing', () => {
    const f = flags([], {
      TRELLIS_SERVICE: 's',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://otel:4318/custom',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(f.tracingEndpoint).to.equal('http://otel:4318/custom');
    expect(f.tracingProtocol).to.equal('grpc');
    expect(f.tracingSampling).to.equal(25);
    expect(flags([], { TRELLIS_SERVICE: 's', OTEL_TRACES_SAMPLER: 'always_off' }).tracingSampling).to.equal(0);
    // TRELLIS_* beats OTEL_*; the flag beats both.
    const g = flags(['--tracing-sampling', '7'], {
      TRELLIS_SERVICE: 's',
      TRELLIS_TRACING_ENDPOINT: 'http://a:1',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:2',
      TRELLIS_TRACING_SAMPLING: '3',
    });
    expect(g.tracingEndpoint).to.equal('http://a:1');
    expect(g.tracingSampling).to.equal(7);
  });

  it('rejects bad tracing values naming the flag or env var', () => {
    expect(() => flags(['--service', 's', '--tracing-endpoint', 'collector:4318'])).to.throw(
      /--tracing-endpoint.*http\(s\) URL/,
    );
    expect(() => flags(['--service', 's', '--tracing-protocol', 'http/json'])).to.throw(/http\/protobuf, grpc/);
    expect(() => flags(['--service', 's', '--tracing-sampling', '150'])).to.throw(/--tracing-sampling.*0-100/);
    expect(() => flags(['--service', 's'], { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).to.throw(
      /env OTEL_EXPORTER_OTLP_PROTOCOL="http\/json"/,
    );
    expect(() => flags(['--service', 's'], { OTEL_TRACES_SAMPLER: 'jaeger_remote' })).to.throw(
      /env OTEL_TRACES_SAMPLER="jaeger_remote"/,
    );
    expect(() => flags(['--service', 's'], { TRELLIS_TRACING_ENDPOINT: 'ftp://x' })).to.throw(
      /env TRELLIS_TRACING_ENDPOINT="ftp:\/\/x"/,
    );
    expect(() => flags(['--service', 's'], { OTEL_BSP_SCHEDULE_DELAY: '1s' })).to.throw(
      /env OTEL_BSP_SCHEDULE_DELAY="1s"/,
    );
  });

  it('rejects bad values with a message naming the flag or env var', () => {
    expect(() => flags([])).to.throw(/required option '--service <name>'/);
    expect(() => flags(['--service', 's', '--inbound-port', '70000'])).to.throw(/--inbound-port.*0-65535|1-65535/);
    expect(() => flags(['--service', 's', '--tcp-upstream', 'redis=1'])).to.throw(/SERVICE:PORT=LOCALPORT/);
    expect(() => flags(['--service', 's', '--labels', 'novalue'])).to.throw(/key=value/);
    expect(() => flags(['--service', 's', '--xds-protocol', 'rest'])).to.throw(/delta, sotw/);
    expect(() => flags(['--service', 's', '--xds', 'nohost'])).to.throw(/host:port/);
    expect(() => flags(['--service', 's'], { TRELLIS_ADMIN_PORT: 'x' })).to.throw(/env TRELLIS_ADMIN_PORT="x"/);
    // A join token must pin the control plane's CA (tokens of older control planes do not).
    const unpinned = `trellis-join.v1.${Buffer.from('{"ns":"default","sa":"s","exp":1}').toString('base64url')}.mac`;
    expect(() => flags(['--service', 's', '--join-token', unpinned])).to.throw(/does not pin the control plane CA/);
    expect(() => flags(['--service', 's', '--join-token', 'abc'])).to.throw(/not a Trellis join token/);
  });

  it('--join-token-file: a missing file or an unusable token stops the process, naming the file', async () => {
    const missing = await runBin(['--service', 's', '--admin-port', '0', '--join-token-file', '/nonexistent/token']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/--join-token-file \/nonexistent\/token: ENOENT/);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'trellis-token-')), 'token');
    writeFileSync(file, 'not-a-token\n');
    const bad = await runBin(['--service', 's', '--admin-port', '0', '--join-token-file', file]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain(`--join-token-file ${file}: not a Trellis join token`);
    rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('announces the TRELLIS_* node metadata and locality the control plane reads', () => {
    const f = flags([
      '--service',
      'web',
      '--app-port',
      '8080',
      '--inbound-port',
      '25006',
      '--outbound-port',
      '25001',
      '--advertise-address',
      '10.1.2.3',
      '--tcp-upstream',
      'redis:6379=16379',
      '--tcp-upstream',
      'db:5432=15432',
      '--labels',
      'version=v2',
      '--zone',
      'eu-1a',
    ]);
    expect(nodeOf(f, 'host-a', 42)).to.deep.equal({
      id: 'web-host-a-42',
      cluster: 'web',
      zone: 'eu-1a',
      metadata: {
        TRELLIS_PROXY: 'sidecar',
        TRELLIS_SERVICE: 'web',
        TRELLIS_ADDRESS: '10.1.2.3',
        TRELLIS_PORT: '25006',
        TRELLIS_APP_PORT: '8080',
        TRELLIS_INBOUND_ADDRESS: '0.0.0.0',
        TRELLIS_OUTBOUND_PORT: '25001',
        TRELLIS_TCP_UPSTREAMS: 'redis:6379=16379,db:5432=15432',
        TRELLIS_LABELS: { version: 'v2' },
      },
    });
    const plain = nodeOf(flags(['--service', 'c', '--node-id', 'fixed']));
    expect(plain.id).to.equal('fixed');
    expect(plain.metadata).to.not.have.any.keys('TRELLIS_APP_PORT', 'TRELLIS_TCP_UPSTREAMS', 'TRELLIS_WEIGHT');
  });

  it('the bin prints --help (exit 0) and fails on a bad flag (exit 1)', async () => {
    const help = await runBin(['--help']);
    expect(help.code).to.equal(0);
    for (const flag of ['--xds', '--service', '--app-port', '--tcp-upstream', '--admin-port', 'TRELLIS_XDS']) {
      expect(help.stdout).to.contain(flag);
    }
    const bad = await runBin(['--service', 'x', '--outbound-port', 'nope']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/--outbound-port/);
  });

  it('the process serves its admin port before xDS answers, and exits 0 on SIGTERM', async () => {
    // An xDS address nobody listens on: the sidecar stays PRE_INITIALIZING but runs.
    const spare = net.createServer().listen(0, '127.0.0.1');
    await once(spare, 'listening');
    const deadPort = (spare.address() as net.AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));
    const child = spawn(
      process.execPath,
      [BIN, '--service', 'lonely', '--xds', `127.0.0.1:${deadPort}`, '--admin-port', '0', '--drain-time', '1s'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const lines: Record<string, unknown>[] = [];
      let buffered = '';
      const adminPort = await new Promise<number>((resolve, reject) => {
        child.on('exit', (code) => reject(new Error(`exited early with ${code}`)));
        child.stdout.on('data', (d: Buffer) => {
          buffered += d.toString();
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
            buffered = buffered.slice(nl + 1);
            lines.push(line);
            if (line['msg'] === 'sidecar started') resolve(line['adminPort'] as number);
          }
        });
      });
      const ready = await fetch(`http://127.0.0.1:${adminPort}/ready`);
      expect([ready.status, await ready.text()]).to.deep.equal([503, 'PRE_INITIALIZING\n']);
      expect((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status).to.equal(200);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).to.equal(0);
      expect(lines.find((l) => l['msg'] === 'sidecar started')).to.include({
        nodeId: `lonely-${hostname()}-${child.pid}`,
      });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
