// docker-compose.yml checked against the project as it is: `docker-compose config` accepts it, every app has a
// sidecar in its network namespace whose flags the real trellis-sidecar parses and whose ports match the app's
// settings, the control plane's flags exist, and each Dockerfile is node:26-slim, non-root, with a HEALTHCHECK.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Metadata } from '@grpc/grpc-js';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import { ensureCommands } from '../bench/lib/apt.ts';
import { ApiAuth } from '../control-plane/src/api/api-auth.ts';
import { buildProgram, type SidecarFlags } from '../sidecar/src/main.ts';
import { BIN, REPO_ROOT, run } from './helpers/processes.ts';

const exec = promisify(execFile);

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  network_mode?: string;
  networks?: Record<string, { ipv4_address?: string } | null>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

interface Compose {
  services: Record<string, ComposeService>;
  networks: Record<string, { ipam?: { config: { subnet: string }[] } }>;
}

/** The sidecar flags as the real trellis-sidecar parses them (its commander program, its env defaults). */
function sidecarFlags(command: string[], env: Record<string, string>): SidecarFlags {
  const program = buildProgram(env).exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  program.parse(command, { from: 'user' });
  return program.opts<SidecarFlags>();
}

function portOf(hostPort: string | undefined, name: string): number {
  const m = /:(\d+)$/.exec(hostPort ?? '');
  if (m === null) throw new Error(`${name}: expected host:port, got ${hostPort}`);
  return Number(m[1]);
}

describe('docker-compose.yml', function () {
  this.timeout(600_000); // apt-get may install docker-compose first (apt-get update + its Python dependencies)
  let compose: Compose;
  let apps: [string, ComposeService][];
  const meshServices = new Set(
    parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'demo/config/mesh.yaml'), 'utf8'))
      .map((d) => d.toJSON() as { kind: string; metadata: { name: string } })
      .filter((d) => d.kind === 'Service')
      .map((d) => d.metadata.name),
  );

  before(async () => {
    ensureCommands({ 'docker-compose': 'docker-compose' });
    const { stdout } = await exec('docker-compose', ['-f', path.join(REPO_ROOT, 'docker-compose.yml'), 'config'], {
      cwd: REPO_ROOT,
    });
    compose = parse(stdout) as Compose;
    // The demo's apps (the same image also runs the edge-certs job).
    apps = Object.entries(compose.services).filter(
      ([, s]) => s.build?.dockerfile === 'docker/demo-app.Dockerfile' && s.command?.[0]?.startsWith('demo/src/apps/'),
    );
  });

  it('passes docker-compose config and has the demo topology, the control plane and Jaeger', () => {
    expect(Object.keys(compose.services)).to.include.members(['control-plane', 'mesh-config', 'jaeger']);
    expect(apps.map(([name]) => name)).to.have.members([
      'web',
      'orders-v1-a',
      'orders-v1-b',
      'orders-v2',
      'payments',
      'inventory',
      'loadgen',
    ]);
    expect(compose.services['jaeger']?.image).to.match(/^jaegertracing\/all-in-one:/);
    expect(compose.services['jaeger']?.environment?.['COLLECTOR_OTLP_ENABLED']).to.equal('true');
  });

  it('gives every app a sidecar in its network namespace, with flags trellis-sidecar accepts and matching ports', () => {
    const subnet = compose.networks['mesh']?.ipam?.config[0]?.subnet ?? '';
    const prefix = subnet.replace(/\.0\/24$/, '.');
    expect(subnet, 'a /24 subnet for static addresses').to.match(/^\d+\.\d+\.\d+\.0\/24$/);
    const addresses = new Set<string>();
    const nodeIds = new Set<string>();
    const tokenServices = new Set<string>();
    for (const [name, app] of apps) {
      const sidecars = Object.entries(compose.services).filter(([, s]) => s.network_mode === `service:${name}`);
      expect(sidecars, `sidecars of ${name}`).to.have.length(1);
      const [sidecarName, sidecar] = sidecars[0] as [string, ComposeService];
      expect(sidecar.build?.dockerfile, sidecarName).to.equal('docker/sidecar.Dockerfile');
      const env = sidecar.environment ?? {};
      const flags = sidecarFlags(sidecar.command ?? [], env);
      const appEnv = app.environment ?? {};
      const ip = app.networks?.['mesh']?.ipv4_address ?? '';

      expect(ip.startsWith(prefix), `${name} has a static address in ${subnet}`).to.equal(true);
      expect(addresses.has(ip), `${ip} used twice`).to.equal(false);
      addresses.add(ip);
      expect(flags.advertiseAddress, `${sidecarName} --advertise-address`).to.equal(ip);
      expect(nodeIds.has(flags.nodeId ?? ''), `node id ${flags.nodeId} used twice`).to.equal(false);
      nodeIds.add(flags.nodeId ?? '');
      expect(flags.xds, `${sidecarName} xDS`).to.deep.equal(['control-plane:18000']);
      // Its own service's join token, made by mesh-tokens into a volume only that service's sidecars mount: xDS over
      // mTLS, STRICT mTLS between sidecars.
      expect(flags.joinTokenFile, `${sidecarName} TRELLIS_JOIN_TOKEN_FILE`).to.equal('/token/join-token');
      expect(sidecar.volumes, sidecarName).to.deep.equal([`token-${flags.service}:/token:ro`]);
      expect(sidecar.depends_on?.['mesh-tokens']?.condition).to.equal('service_completed_successfully');
      tokenServices.add(flags.service);
      expect(env['OTEL_EXPORTER_OTLP_ENDPOINT'], sidecarName).to.equal('http://jaeger:4318');
      expect(env['OTEL_SERVICE_NAME'], sidecarName).to.equal(flags.service);
      expect(sidecar.depends_on?.['control-plane']?.condition).to.equal('service_healthy');

      if (name === 'loadgen') {
        expect(flags.service).to.equal('loadgen');
        expect(flags.appPort, 'the load generator serves nothing').to.equal(undefined);
      } else {
        expect(meshServices.has(flags.service), `${flags.service} is a Service in demo/config/mesh.yaml`).to.equal(
          true,
        );
        expect(flags.appPort, `${sidecarName} --app-port is ${name}'s PORT`).to.equal(Number(appEnv['PORT']));
      }
      if (appEnv['VERSION'] !== undefined) expect(flags.labels['version'], sidecarName).to.equal(appEnv['VERSION']);
      if (appEnv['HTTP_PROXY'] !== undefined)
        expect(new URL(appEnv['HTTP_PROXY']).port, `${name} HTTP_PROXY`).to.equal(String(flags.outboundPort));
      if (appEnv['PAYMENTS_VIA'] !== undefined)
        expect(portOf(appEnv['PAYMENTS_VIA'], 'PAYMENTS_VIA'), `${name} PAYMENTS_VIA`).to.equal(flags.outboundPort);
      if (appEnv['INVENTORY_VIA'] !== undefined) {
        const tcp = flags.tcpUpstream.find((t) => t.service === 'inventory');
        expect(tcp, `${sidecarName} --tcp-upstream inventory:…`).to.not.equal(undefined);
        expect(tcp?.localPort).to.equal(portOf(appEnv['INVENTORY_VIA'], 'INVENTORY_VIA'));
        expect(meshServices.has('inventory')).to.equal(true);
      }
      for (const published of app.ports ?? []) {
        // Published ports reach the app only through its sidecar's inbound listener.
        expect(Number(/:(\d+)(\/tcp)?$/.exec(published)?.[1]), `${name} publishes ${published}`).to.equal(
          flags.inboundPort,
        );
      }
    }
    // The edge gateway holds a token of its own (its identity).
    for (const [, svc] of Object.entries(compose.services)) {
      const gatewayFlag = (svc.command ?? []).find((a) => a.startsWith('--gateway='));
      if (gatewayFlag === undefined) continue;
      tokenServices.add(sidecarFlags(svc.command ?? [], svc.environment ?? {}).service);
    }
    // mesh-tokens makes a token for exactly the services the sidecars front (and the gateway), into their volume.
    const tokens = compose.services['mesh-tokens'] as ComposeService;
    const script = (tokens.command ?? []).join(' ');
    const made = /for s in ([\w -]+); do/.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
    expect(made.sort()).to.deep.equal([...tokenServices].sort());
    expect(script).to.contain('token create --service');
    expect(script).to.contain('"/tokens/$$s/join-token"');
    for (const service of tokenServices) expect(tokens.volumes).to.include(`token-${service}:/tokens/${service}:rw`);
  });

  it('runs an edge gateway from its own certificates and token, its Gateway applied from demo/config/edge-gateway.yaml', async () => {
    const gw = compose.services['edge-gateway'] as ComposeService;
    expect(gw.build?.dockerfile).to.equal('docker/sidecar.Dockerfile');
    const flags = sidecarFlags(gw.command ?? [], gw.environment ?? {});
    expect(flags.gateway).to.equal('edge');
    expect(flags.joinTokenFile).to.equal('/token/join-token');
    expect(gw.volumes).to.deep.equal([`token-${flags.service}:/token:ro`, 'edge-certs:/certs:ro']);
    expect(gw.depends_on?.['edge-certs']?.condition).to.equal('service_completed_successfully');
    const certs = compose.services['edge-certs'] as ComposeService;
    expect(certs.build?.dockerfile).to.equal('docker/demo-app.Dockerfile');
    expect(certs.command).to.deep.equal(['demo/src/edge-certs.ts', '/certs']);
    // The Gateway validates as the CLI checks it, names the certificate files the volume holds, and its ports are
    // the ones published.
    const file = path.join(REPO_ROOT, 'demo/config/edge-gateway.yaml');
    const dry = await run(BIN.trellisctl, [
      '--api',
      '127.0.0.1:1',
      '--timeout',
      '1s',
      'apply',
      '--dry-run',
      '-f',
      file,
    ]);
    expect(dry.stderr, 'only the connection fails, not validation').to.contain('cannot reach the Trellis API');
    const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()) as {
      kind: string;
      spec: { servers?: { port: number; tls?: { certificates: { certFile: string; keyFile: string }[] } }[] };
    }[];
    const gateway = docs.find((d) => d.kind === 'Gateway');
    const ports = (gateway?.spec.servers ?? []).map((sv) => sv.port);
    for (const port of ports) expect(gw.ports, `port ${port} published`).to.include(`127.0.0.1:${port}:${port}/tcp`);
    for (const c of (gateway?.spec.servers ?? []).flatMap((sv) => sv.tls?.certificates ?? []))
      expect([c.certFile, c.keyFile]).to.deep.equal(['/certs/localhost.crt', '/certs/localhost.key']);
    const config = compose.services['edge-config'] as ComposeService;
    expect(config.command).to.deep.equal(['--api', 'control-plane:18001', 'apply', '-f', '/config/edge-gateway.yaml']);
  });

  it('starts the control plane with flags it has, and applies demo/config/mesh.yaml with the real trellisctl', async () => {
    const help = await run(BIN.controlPlane, ['--help']);
    expect(help.code).to.equal(0);
    const cp = compose.services['control-plane'] as ComposeService;
    for (const flag of (cp.command ?? []).filter((a) => a.startsWith('--')))
      expect(help.stdout, `trellis-control-plane ${flag}`).to.contain(`${flag.split('=')[0]} `);
    const apiPort = Number((cp.command ?? [])[(cp.command ?? []).indexOf('--api-port') + 1]);
    expect((cp.command ?? [])[(cp.command ?? []).indexOf('--api-host') + 1], 'API reachable by peers').to.equal(
      '0.0.0.0',
    );
    expect(cp.ports?.some((p) => p.endsWith(`:${apiPort}/tcp`) || p.endsWith(`:${apiPort}`))).to.equal(true);
    // An API beyond loopback needs tokens: the file mounted there loads, and mesh-config's token is one of them.
    const tokensAt = (cp.command ?? [])[(cp.command ?? []).indexOf('--api-tokens') + 1] ?? '';
    const tokensMount = (cp.volumes ?? []).find((v) => v.endsWith(`:${tokensAt}:ro`)) ?? '';
    const tokensFile = tokensMount.slice(0, tokensMount.indexOf(':'));
    const auth = ApiAuth.load(path.isAbsolute(tokensFile) ? tokensFile : path.join(REPO_ROOT, tokensFile));

    const config = compose.services['mesh-config'] as ComposeService;
    expect(config.entrypoint).to.deep.equal(['node', 'control-plane/bin/trellisctl.js']);
    expect(config.command).to.deep.equal(['--api', `control-plane:${apiPort}`, 'apply', '-f', '/config/mesh.yaml']);
    const md = new Metadata();
    md.set('authorization', `Bearer ${config.environment?.['TRELLIS_TOKEN'] ?? ''}`);
    expect(auth.check(md, 'Apply'), "mesh-config's token may apply").to.equal(undefined);
    const tokensMd = new Metadata();
    tokensMd.set('authorization', `Bearer ${compose.services['mesh-tokens']?.environment?.['TRELLIS_TOKEN'] ?? ''}`);
    expect(auth.check(tokensMd, 'CreateJoinToken'), "mesh-tokens' token may create join tokens").to.equal(undefined);
    const mount = (config.volumes ?? []).find((v) => v.includes(':/config'));
    expect(mount, 'demo/config mounted at /config').to.match(/\/demo\/config:\/config:ro$/);
    const ctlHelp = await run(BIN.trellisctl, ['apply', '--help']);
    expect(ctlHelp.stdout).to.contain('--filename');
    // The file it applies is valid as the CLI itself checks it.
    const dry = await run(BIN.trellisctl, [
      '--api',
      '127.0.0.1:1',
      '--timeout',
      '1s',
      'apply',
      '--dry-run',
      '-f',
      path.join(REPO_ROOT, 'demo/config/mesh.yaml'),
    ]);
    expect(dry.stderr, 'only the connection fails, not validation').to.contain('cannot reach the Trellis API');
    expect(dry.stderr).to.not.contain('document');
  });

  it('builds from Dockerfiles that exist, use node:26-slim, run as a non-root user and have a HEALTHCHECK', () => {
    const dockerfiles = new Set(Object.values(compose.services).flatMap((s) => (s.build ? [s.build.dockerfile] : [])));
    expect([...dockerfiles]).to.have.members([
      'docker/control-plane.Dockerfile',
      'docker/sidecar.Dockerfile',
      'docker/demo-app.Dockerfile',
    ]);
    for (const file of dockerfiles) {
      const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      const lines = text.split('\n').filter((l) => !l.startsWith('#'));
      // Every stage on node:26-slim (a build stage named with AS), the image itself the last one.
      const stages = lines.filter((l) => l.startsWith('FROM '));
      expect(stages.at(-1), file).to.equal('FROM node:26-slim');
      for (const stage of stages) expect(stage, file).to.match(/^FROM node:26-slim( AS [a-z-]+)?$/);
      const user = lines.filter((l) => l.startsWith('USER ')).at(-1);
      expect(user, `${file} USER`).to.match(/^USER \S+$/);
      expect(user, `${file} runs as root`).to.not.match(/^USER (root|0)(:|$)/);
      expect(
        lines.some((l) => l.startsWith('HEALTHCHECK ')),
        `${file} HEALTHCHECK`,
      ).to.equal(true);
      expect(text, `${file} installs with npm ci`).to.match(/RUN npm ci /);
      // The root package's prepare step (tsc -b) needs the devDependencies and the sources: an install without the
      // devDependencies (--omit=dev) must skip it.
      for (const line of lines.filter((l) => l.startsWith('RUN npm ci ') && l.includes('--omit=dev')))
        expect(line, `${file}: ${line}`).to.contain('--ignore-scripts');
      // What a build stage compiles reaches the image: each COPY --from names a stage and a dist/ the build wrote.
      for (const line of lines.filter((l) => l.startsWith('COPY --from='))) {
        const [, stage, source] = /^COPY --from=(\S+) \/app\/(\S+) /.exec(line) ?? [];
        expect(stages, `${file}: ${line}`).to.include(`FROM node:26-slim AS ${stage}`);
        expect(source, `${file}: ${line}`).to.match(/(^|\/)dist$/);
        expect(existsSync(path.join(REPO_ROOT, source ?? '', '..', 'src')), `${file}: ${line}`).to.equal(true);
      }
      // Every COPY source exists (a renamed folder would otherwise break the image build only).
      for (const line of lines.filter((l) => l.startsWith('COPY ') && !l.startsWith('COPY --from='))) {
        const sources = line.split(/\s+/).slice(1, -1);
        for (const source of sources)
          expect(existsSync(path.join(REPO_ROOT, source)), `${file}: ${line}`).to.equal(true);
      }
      const entry = lines.find((l) => l.startsWith('ENTRYPOINT '));
      const script = (JSON.parse(entry?.slice('ENTRYPOINT '.length) ?? '[]') as string[])[1];
      if (script !== undefined) expect(existsSync(path.join(REPO_ROOT, script)), `${file}: ${entry}`).to.equal(true);
    }
    for (const [name, app] of apps) {
      const script = app.command?.[0] ?? '';
      expect(existsSync(path.join(REPO_ROOT, script)), `${name} runs ${script}`).to.equal(true);
    }
  });
});
