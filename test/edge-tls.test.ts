// Edge TLS on a real sidecar (the gateway's data plane): an Envoy Listener with a certificate per SNI name (exact,
// wildcard, default) through the decoder into a running Sidecar; the right certificate per name; TLS 1.0/1.1
// refused (openssl s_client) and only AEAD ciphers offered (sslscan); a certificate replaced on disk served to new
// connections while an open one keeps working; HTTP/1.1 and h2 (ALPN) served behind it.
import { execFile } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { anyOf, decodeAny, EXTENSION_TYPES, TYPE_URLS, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import { pino } from 'pino';
import { ensureCommands } from '../bench/lib/apt.ts';
import { ConfigRelay } from '../sidecar/src/config/config-relay.ts';
import { decodeListener } from '../sidecar/src/config/decode-listener.ts';
import type { ListenerConfig } from '../sidecar/src/config/model.ts';
import { Sidecar, type SidecarConfigSource } from '../sidecar/src/sidecar.ts';
import { sidecarConfig } from '../sidecar/src/upstream/fixtures.ts';
import { selfSignedCertificate } from './helpers/certificates.ts';

const run = promisify(execFile);

class ReadySource extends ConfigRelay implements SidecarConfigSource {
  start(): void {}
  async stop(): Promise<void> {}
  ready(): Promise<void> {
    return Promise.resolve();
  }
  dump(): unknown {
    return {};
  }
}

/** The subject CN a TLS client sees for an SNI name (none: no SNI). */
function servedCn(port: number, servername?: string, socketOut?: (s: tls.TLSSocket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ...(servername === undefined ? {} : { servername }),
      ALPNProtocols: ['http/1.1'],
    });
    socket.once('secureConnect', () => {
      const cn = /CN=([^\n,]+)/.exec(socket.getPeerX509Certificate()?.subject ?? '')?.[1] ?? '';
      if (socketOut === undefined) socket.destroy();
      else socketOut(socket);
      resolve(cn);
    });
    socket.once('error', reject);
  });
}

/** One HTTP/1.1 request on an open TLS socket: the response text. */
function request(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString();
      if (text.includes('edge ok')) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.write('GET / HTTP/1.1\r\nHost: shop.example.com\r\n\r\n');
  });
}

describe('edge TLS: certificates by SNI from files (a gateway listener)', function () {
  this.timeout(60_000);
  let dir: string;
  let sidecar: Sidecar;
  let port: number;
  const file = (name: string) => path.join(dir, name);

  before(async () => {
    ensureCommands({ openssl: 'openssl', sslscan: 'sslscan' });
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-edge-tls-'));
    for (const [name, cn] of [
      ['shop', 'shop.example.com'],
      ['wild', 'wildcard.example.com'],
      ['default', 'default.test'],
    ] as const) {
      const c = await selfSignedCertificate(cn, { dns: cn });
      writeFileSync(file(`${name}.crt`), c.cert);
      writeFileSync(file(`${name}.key`), c.key, { mode: 0o600 });
    }
    const hcm = {
      '@type': typeUrl(EXTENSION_TYPES.httpConnectionManager),
      stat_prefix: 'edge',
      codec_type: 'AUTO',
      route_config: {
        name: 'edge',
        virtual_hosts: [
          {
            name: 'all',
            domains: ['*'],
            routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'edge ok' } } }],
          },
        ],
      },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': typeUrl(EXTENSION_TYPES.router) } }],
    };
    const chain = (names: string[], cert: string) => ({
      ...(names.length === 0 ? {} : { filter_chain_match: { server_names: names } }),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': typeUrl(EXTENSION_TYPES.downstreamTlsContext),
          common_tls_context: {
            tls_certificates: [
              { certificate_chain: { filename: file(`${cert}.crt`) }, private_key: { filename: file(`${cert}.key`) } },
            ],
            alpn_protocols: ['h2', 'http/1.1'],
          },
        },
      },
    });
    const raw = {
      name: 'edge',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      listener_filters: [
        {
          name: 'envoy.filters.listener.tls_inspector',
          typed_config: { '@type': typeUrl(EXTENSION_TYPES.tlsInspector) },
        },
      ],
      filter_chains: [chain(['shop.example.com'], 'shop'), chain(['*.example.com'], 'wild'), chain([], 'default')],
    };
    const decoded = decodeListener(decodeAny(anyOf(TYPE_URLS.listener, raw)) as never, '1');
    if ('error' in decoded) throw new Error(decoded.error);
    const source = new ReadySource();
    sidecar = new Sidecar({ source, logger: pino({ level: 'silent' }), admin: { address: '127.0.0.1', port: 0 } });
    await sidecar.start();
    source.set(sidecarConfig({ listeners: [decoded.value as ListenerConfig] }));
    for (;;) {
      const l = sidecar.listenerStatus().find((s) => s.name === 'edge');
      if (l?.boundPort !== undefined && l.state === 'bound') {
        port = l.boundPort;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
  after(async () => {
    await sidecar?.stop(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the certificate of each SNI name: exact, then wildcard, then the default', async () => {
    expect(await servedCn(port, 'shop.example.com')).to.equal('shop.example.com');
    expect(await servedCn(port, 'SHOP.example.com')).to.equal('shop.example.com');
    expect(await servedCn(port, 'api.example.com')).to.equal('wildcard.example.com');
    expect(await servedCn(port, 'other.test')).to.equal('default.test');
    expect(await servedCn(port)).to.equal('default.test');
  });

  it('serves HTTP/1.1 and h2 (ALPN) behind it', async () => {
    const socket = await new Promise<tls.TLSSocket>((resolve) => {
      void servedCn(port, 'shop.example.com', resolve);
    });
    expect(await request(socket)).to.match(/^HTTP\/1\.1 200/);
    socket.destroy();
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      rejectUnauthorized: false,
      servername: 'shop.example.com',
    });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/', ':authority': 'shop.example.com' });
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (d: string) => {
          text += d;
        });
        req.on('end', () => resolve(text));
        req.on('error', reject);
        req.end();
      });
      expect(body).to.equal('edge ok');
      expect(session.alpnProtocol).to.equal('h2');
    } finally {
      session.close();
    }
  });

  it('refuses TLS 1.0 and 1.1 (openssl s_client); offers TLS 1.2/1.3 with AEAD ciphers only (sslscan)', async () => {
    const attempt = async (flag: string): Promise<boolean> => {
      // stdin closed: s_client ends after the handshake.
      const child = run(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${port}`,
          '-servername',
          'shop.example.com',
          flag,
          '-cipher',
          'DEFAULT@SECLEVEL=0',
        ],
        { timeout: 10_000 },
      );
      child.child.stdin?.end();
      try {
        const { stdout } = await child;
        return /Cipher is (?!\(NONE\))/.test(String(stdout));
      } catch {
        return false;
      }
    };
    // openssl's view of SNI: the certificate each name gets.
    const subjectFor = async (name: string): Promise<string> => {
      const child = run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', name], {
        timeout: 10_000,
      });
      child.child.stdin?.end();
      const { stdout } = await child;
      return /subject=.*CN\s*=\s*([^\s,/]+)/.exec(String(stdout))?.[1] ?? '';
    };
    expect(await subjectFor('shop.example.com')).to.equal('shop.example.com');
    expect(await subjectFor('api.example.com')).to.equal('wildcard.example.com');
    expect(await attempt('-tls1')).to.equal(false);
    expect(await attempt('-tls1_1')).to.equal(false);
    expect(await attempt('-tls1_2')).to.equal(true);
    expect(await attempt('-tls1_3')).to.equal(true);
    const { stdout } = await run('sslscan', ['--no-colour', '--sni-name=shop.example.com', `127.0.0.1:${port}`], {
      timeout: 60_000,
    });
    for (const proto of ['SSLv2', 'SSLv3', 'TLSv1.0', 'TLSv1.1'])
      expect(stdout).to.match(new RegExp(`${proto}\\s+disabled`));
    expect(stdout).to.match(/TLSv1\.2\s+enabled/);
    expect(stdout).to.match(/TLSv1\.3\s+enabled/);
    const ciphers = stdout
      .split('\n')
      .filter((l) => /^(Preferred|Accepted)\s/.test(l))
      .map((l) => l.trim().split(/\s+/)[4] as string);
    expect(ciphers.length).to.be.greaterThan(0);
    for (const c of ciphers) expect(c, `cipher ${c}`).to.match(/GCM|CHACHA20/);
  });

  it('refuses what it cannot serve safely, naming the field', () => {
    const listenerWith = (tlsParams: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      name: 'edge',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.tcp_proxy',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
                stat_prefix: 'edge',
                cluster: 'app',
              },
            },
          ],
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': typeUrl(EXTENSION_TYPES.downstreamTlsContext),
              common_tls_context: {
                tls_certificates: [{ certificate_chain: { filename: '/c.pem' }, private_key: { filename: '/k.pem' } }],
                tls_params: tlsParams,
              },
              ...extra,
            },
          },
        },
      ],
    });
    const error = (raw: Record<string, unknown>): string => {
      const d = decodeListener(decodeAny(anyOf(TYPE_URLS.listener, raw)) as never, '1');
      return 'error' in d ? d.error : '';
    };
    const base = 'listener edge: filter_chains[0].transport_socket.typed_config';
    expect(error(listenerWith({ tls_minimum_protocol_version: 'TLSv1_1' }))).to.equal(
      `${base}.common_tls_context.tls_params.tls_minimum_protocol_version: expected TLSv1_2 or TLSv1_3 (TLS 1.0 and 1.1 are refused), got TLSv1_1`,
    );
    expect(error(listenerWith({ cipher_suites: ['AES128-SHA'] }))).to.equal(
      `${base}.common_tls_context.tls_params.cipher_suites[0]: expected an ECDHE AEAD cipher (e.g. ECDHE-ECDSA-AES128-GCM-SHA256), got AES128-SHA`,
    );
    expect(error(listenerWith({}, { require_client_certificate: { value: true } }))).to.match(
      /require_client_certificate: not supported with certificates from files/,
    );
  });

  it('a certificate replaced on disk is served to new connections; an open connection keeps working', async () => {
    const open = await new Promise<tls.TLSSocket>((resolve) => {
      void servedCn(port, 'shop.example.com', resolve);
    });
    const next = await selfSignedCertificate('shop-renewed.example.com', { dns: 'shop-renewed.example.com' });
    // Written aside and renamed into place, as certificate managers do.
    writeFileSync(file('shop.crt.new'), next.cert);
    writeFileSync(file('shop.key.new'), next.key, { mode: 0o600 });
    renameSync(file('shop.key.new'), file('shop.key'));
    renameSync(file('shop.crt.new'), file('shop.crt'));
    const deadline = Date.now() + 5_000;
    let cn = '';
    while (cn !== 'shop-renewed.example.com' && Date.now() < deadline) cn = await servedCn(port, 'shop.example.com');
    expect(cn).to.equal('shop-renewed.example.com');
    expect(await request(open)).to.match(/^HTTP\/1\.1 200/);
    open.destroy();
  });
});
