// mTLS benchmark: the cost of mesh mTLS between two proxies, Trellis against nginx, in one run. Each target is a
// pair: wrk → proxy A (plaintext, keep-alive) → proxy B (the hop under test) → nginx upstream. Trellis: two sidecars,
// plaintext, then with workload certificates and a STRICT PeerAuthentication; nginx: the same pair, plaintext, then
// with proxy_ssl (client certificate) to an ssl_verify_client server, TLS 1.3 both. CPU µs per request counts both
// proxies of a pair (both pinned to CPU 0; wrk, the upstream and the control plane on CPU 1). Then the new-handshake
// rate: `openssl s_time -new` opens a fresh TLS 1.3 connection with a client certificate for every request, straight
// to proxy B's mTLS port (Trellis: a certificate from the mesh CA; nginx: one from the bench CA); connections per
// second and proxy B's CPU µs per handshake.
// Usage: npm run bench:mtls -- [--seconds 10] [--rounds 3] [--connections 32]
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type JoinTokenHints, joinTokenHints } from '@trellis/identity';
import { requestCertificate } from '../sidecar/src/tls/certificate-client.ts';
import { bootstrapCredentials, discoverControlPlaneTrust } from '../sidecar/src/tls/control-plane-trust.ts';
import { newWorkloadKey } from '../sidecar/src/tls/workload-key.ts';
import { ensureCommands } from './lib/apt.ts';
import { cpuMicrosOf, settle } from './lib/cpu.ts';
import { type NginxInstance, nginxCommon, startNginx, startNginxUpstream } from './lib/nginx.ts';
import { freePort } from './lib/ports.ts';
import { median, ROOT, serviceYaml, startControlPlane, startSidecar } from './lib/trellis.ts';
import { runWrk, type WrkResult } from './lib/wrk.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
const PROXY_CPU = '0';
const LOAD_CPU = '1';

interface Target {
  name: string;
  port: number;
  headers: string[];
  pids(): number[];
}

/** A CA, a server and a client certificate (EC P-256) for the nginx pair, made with openssl. */
function nginxCertificates(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const ossl = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  ossl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key'].concat([
      '-out',
      'ca.pem',
      '-subj',
      '/CN=bench-ca',
      '-days',
      '1',
    ]),
  );
  for (const name of ['server', 'client']) {
    ossl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`].concat([
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name}`,
      ]),
    );
    writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=URI:spiffe://bench/ns/default/sa/${name}\n`);
    ossl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
        '-out',
        `${name}.pem`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      ]),
    );
  }
}

/** nginx A → nginx B → upstream; B over mTLS when `certs` is given. Returns A (the entry) and both for CPU. */
async function nginxPair(dir: string, upstreamPort: number, certs: string | undefined): Promise<NginxInstance[]> {
  const bPort = await freePort();
  const aPort = await freePort();
  const tls = certs !== undefined;
  const b = await startNginx(
    path.join(dir, 'b'),
    `${nginxCommon(path.join(dir, 'b'))}
http {
  access_log off;
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${bPort}${tls ? ' ssl' : ''};
    ${
      tls
        ? `ssl_certificate ${certs}/server.pem; ssl_certificate_key ${certs}/server.key;
    ssl_client_certificate ${certs}/ca.pem; ssl_verify_client on; ssl_protocols TLSv1.3;`
        : ''
    }
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
    bPort,
    PROXY_CPU,
  );
  const a = await startNginx(
    path.join(dir, 'a'),
    `${nginxCommon(path.join(dir, 'a'))}
http {
  access_log off;
  keepalive_requests 1000000;
  upstream b { server 127.0.0.1:${bPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${aPort};
    location / {
      proxy_pass ${tls ? 'https' : 'http'}://b;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${
        tls
          ? `proxy_ssl_certificate ${certs}/client.pem; proxy_ssl_certificate_key ${certs}/client.key;
      proxy_ssl_trusted_certificate ${certs}/ca.pem; proxy_ssl_verify on; proxy_ssl_name server;
      proxy_ssl_protocols TLSv1.3; proxy_ssl_session_reuse on;`
          : ''
      }
    }
  }
}
`,
    aPort,
    PROXY_CPU,
  );
  return [a, b];
}

interface HandshakeTarget {
  name: string;
  port: number;
  cert: string;
  key: string;
  pids(): number[];
}

/** New TLS 1.3 handshakes (one request each) for `seconds`: connections/s and the server's CPU µs per handshake. */
async function handshakes(t: HandshakeTarget, seconds: number): Promise<{ perSecond: number; cpuMicros: number }> {
  const before = cpuMicrosOf(t.pids());
  const started = performance.now();
  const out = execFileSync(
    'taskset',
    ['-c', LOAD_CPU, 'openssl', 's_time', '-connect', `127.0.0.1:${t.port}`, '-new', '-tls1_3', '-www', '/'].concat([
      '-cert',
      t.cert,
      '-key',
      t.key,
      '-time',
      String(seconds),
    ]),
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const elapsed = (performance.now() - started) / 1000;
  await settle(t.pids());
  const m = /(\d+) connections in [\d.]+s/.exec(out);
  if (m === null) throw new Error(`${t.name}: openssl s_time printed no count:\n${out}`);
  const n = Number(m[1]);
  if (n === 0) throw new Error(`${t.name}: no connection completed:\n${out}`);
  return { perSecond: n / elapsed, cpuMicros: (cpuMicrosOf(t.pids()) - before) / n };
}

async function main(): Promise<void> {
  ensureCommands({ wrk: 'wrk', nginx: 'nginx-light', openssl: 'openssl' });
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-bench-mtls-'));
  const children: ChildProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const upstream = await startNginxUpstream(path.join(dir, 'upstream'), await freePort(), LOAD_CPU);
    stops.push(() => upstream.stop());
    nginxCertificates(path.join(dir, 'certs'));
    const nginxPlain = await nginxPair(path.join(dir, 'nginx-plain'), upstream.port, undefined);
    const nginxTls = await nginxPair(path.join(dir, 'nginx-mtls'), upstream.port, path.join(dir, 'certs'));
    for (const n of [...nginxPlain, ...nginxTls]) stops.push(() => n.stop());

    const cp = await startControlPlane(path.join(dir, 'cp'), LOAD_CPU, children);
    cp.apply(`${serviceYaml('app-plain', 80)}---
${serviceYaml('app-mtls', 80)}---
apiVersion: trellis.dev/v1
kind: PeerAuthentication
metadata: { name: app-mtls }
spec:
  selector: { service: app-mtls }
  mtls: { mode: STRICT }
`);
    const token = (service: string): string[] => [
      '--join-token',
      execFileSync(process.execPath, [
        path.join(ROOT, 'control-plane/bin/trellisctl.js'),
        '--api',
        cp.api,
        'token',
        'create',
        '--service',
        service,
      ])
        .toString()
        .trim(),
    ];
    const sidecar = (service: string, extra: string[], appPort?: number) =>
      startSidecar({
        // With a join token, the xDS TLS port; without, the plaintext one.
        xds: extra.length > 0 ? cp.xds : cp.xdsInsecure,
        service,
        cpus: PROXY_CPU,
        children,
        extra,
        ...(appPort === undefined ? {} : { appPort, waitFor: 'inbound' as const }),
      });
    const plainB = await sidecar('app-plain', [], upstream.port);
    const plainA = await sidecar('client-plain', []);
    const tlsB = await sidecar('app-mtls', token('app-mtls'), upstream.port);
    const tlsA = await sidecar('client-mtls', token('client-mtls'));
    const pid = (c: ChildProcess): number => c.pid ?? 0;
    const nginxPids = (pair: NginxInstance[]) => () => pair.flatMap((n) => n.pids());
    const targets: Target[] = [
      {
        name: 'nginx pair, plaintext',
        port: (nginxPlain[0] as NginxInstance).port,
        headers: [],
        pids: nginxPids(nginxPlain),
      },
      { name: 'nginx pair, mTLS', port: (nginxTls[0] as NginxInstance).port, headers: [], pids: nginxPids(nginxTls) },
      {
        name: 'trellis pair, plaintext',
        port: plainA.outboundPort,
        headers: ['Host: app-plain'],
        pids: () => [pid(plainA.child), pid(plainB.child)],
      },
      {
        name: 'trellis pair, mTLS',
        port: tlsA.outboundPort,
        headers: ['Host: app-mtls'],
        pids: () => [pid(tlsA.child), pid(tlsB.child)],
      },
    ];
    const rows = new Map<string, { runs: WrkResult[]; cpu: number[] }>(
      targets.map((t) => [t.name, { runs: [], cpu: [] }]),
    );
    // Warm-up (JIT, pools, TLS sessions, and the mTLS pair's certificates and config), then interleaved rounds.
    for (const t of targets) {
      const warm = await runWrk({
        url: `http://127.0.0.1:${t.port}/`,
        seconds: 2,
        connections: CONNECTIONS,
        cpus: LOAD_CPU,
        headers: t.headers,
      });
      if (warm.requests === 0 || warm.errors > 0)
        throw new Error(`${t.name}: warm-up got ${warm.requests} answers, ${warm.errors} errors`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
      if (round % 2 === 1) order.reverse();
      for (const t of order) {
        const before = cpuMicrosOf(t.pids());
        const r = await runWrk({
          url: `http://127.0.0.1:${t.port}/`,
          seconds: SECONDS,
          connections: CONNECTIONS,
          cpus: LOAD_CPU,
          headers: t.headers,
        });
        await settle(t.pids());
        const row = rows.get(t.name)!;
        row.runs.push(r);
        row.cpu.push((cpuMicrosOf(t.pids()) - before) / r.requests);
        console.error(
          `round ${round + 1}/${ROUNDS} ${t.name}: ${r.rps.toFixed(0)} req/s${r.errors ? `, ${r.errors} errors` : ''}`,
        );
      }
    }
    const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
    const rps = (name: string) => median(rows.get(name)!.runs.map((r) => r.rps));
    const cpu = (name: string) => median(rows.get(name)!.cpu);
    console.log(
      `\nHTTP/1.1 keep-alive through a pair of proxies, ${CONNECTIONS} connections, ${SECONDS}s x ${ROUNDS} interleaved rounds (medians); proxies on CPU ${PROXY_CPU}`,
    );
    console.log(
      [
        'target'.padEnd(26),
        'req/s'.padStart(9),
        'p50 ms'.padStart(8),
        'p99 ms'.padStart(8),
        'cpu µs/req (pair)'.padStart(18),
        'errors'.padStart(7),
      ].join(' '),
    );
    for (const [name, row] of rows) {
      console.log(
        [
          name.padEnd(26),
          fmt(rps(name)).padStart(9),
          fmt(median(row.runs.map((r) => r.p50Ms)), 2).padStart(8),
          fmt(median(row.runs.map((r) => r.p99Ms)), 2).padStart(8),
          fmt(cpu(name), 1).padStart(18),
          String(row.runs.reduce((a, r) => a + r.errors, 0)).padStart(7),
        ].join(' '),
      );
    }
    const ratio = (a: string, b: string) =>
      `${fmt(rps(a) / rps(b), 2)}x req/s, ${fmt(cpu(a) / cpu(b), 2)}x cpu/req (${cpu(a) >= cpu(b) ? '+' : ''}${fmt(cpu(a) - cpu(b), 1)} µs)`;
    console.log(`\nmTLS cost, trellis: ${ratio('trellis pair, mTLS', 'trellis pair, plaintext')}`);
    console.log(`mTLS cost, nginx:   ${ratio('nginx pair, mTLS', 'nginx pair, plaintext')}`);
    console.log(`trellis / nginx, mTLS: ${ratio('trellis pair, mTLS', 'nginx pair, mTLS')}`);

    // New handshakes straight to proxy B: a mesh certificate for Trellis (as a sidecar gets one), the bench CA's for
    // nginx.
    const tokenText = token('bench-client')[1] as string;
    const xds = [cp.xds];
    const trust = await discoverControlPlaneTrust(xds, joinTokenHints(tokenText) as JoinTokenHints);
    const key = await newWorkloadKey('bench-client');
    const chain = await requestCertificate(xds, bootstrapCredentials(trust), key.csrPem, 0, { token: tokenText });
    writeFileSync(path.join(dir, 'mesh-client.pem'), chain.join('\n'));
    writeFileSync(path.join(dir, 'mesh-client.key'), key.keyPem, { mode: 0o600 });
    const certs = path.join(dir, 'certs');
    const hsTargets: HandshakeTarget[] = [
      {
        name: 'nginx B',
        port: (nginxTls[1] as NginxInstance).port,
        cert: path.join(certs, 'client.pem'),
        key: path.join(certs, 'client.key'),
        pids: () => (nginxTls[1] as NginxInstance).pids(),
      },
      {
        name: 'trellis B',
        port: tlsB.inboundPort,
        cert: path.join(dir, 'mesh-client.pem'),
        key: path.join(dir, 'mesh-client.key'),
        pids: () => [pid(tlsB.child)],
      },
    ];
    const hs = new Map(hsTargets.map((t) => [t.name, { rate: [] as number[], cpu: [] as number[] }]));
    for (const t of hsTargets) await handshakes(t, 2); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? hsTargets : [...hsTargets].reverse();
      for (const t of order) {
        const r = await handshakes(t, SECONDS);
        hs.get(t.name)?.rate.push(r.perSecond);
        hs.get(t.name)?.cpu.push(r.cpuMicros);
        console.error(`round ${round + 1}/${ROUNDS} ${t.name}: ${r.perSecond.toFixed(0)} handshakes/s`);
      }
    }
    console.log(
      `\nNew mTLS handshakes (TLS 1.3, client certificate, one request each; openssl s_time -new on CPU ${LOAD_CPU}), ${SECONDS}s x ${ROUNDS} rounds (medians)`,
    );
    console.log(['target'.padEnd(12), 'handshakes/s'.padStart(13), 'cpu µs/handshake (B)'.padStart(21)].join(' '));
    for (const [name, row] of hs)
      console.log(
        [name.padEnd(12), fmt(median(row.rate)).padStart(13), fmt(median(row.cpu), 0).padStart(21)].join(' '),
      );
    const hsRate = (n: string) => median(hs.get(n)?.rate ?? []);
    const hsCpu = (n: string) => median(hs.get(n)?.cpu ?? []);
    console.log(
      `trellis / nginx, new handshakes: ${fmt(hsRate('trellis B') / hsRate('nginx B'), 2)}x handshakes/s, ${fmt(hsCpu('trellis B') / hsCpu('nginx B'), 2)}x cpu/handshake`,
    );
  } finally {
    for (const c of children) c.kill('SIGTERM');
    for (const s of stops) await s().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
