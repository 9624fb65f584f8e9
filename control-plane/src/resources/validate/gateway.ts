// Validates a Gateway spec: servers (port, HTTP or HTTPS, hosts), HTTPS certificates from absolute file paths with
// their SNI names, TLS 1.2 or 1.3 as the minimum, the HTTP→HTTPS redirect and HSTS, the default rate limit.
import { field, type Issues } from './issues.ts';
import { validateRateLimit } from './rate-limit.ts';

export const GATEWAY_FIELDS = ['servers', 'rateLimit'];
const SERVER_FIELDS = ['port', 'protocol', 'hosts', 'tls', 'httpsRedirect', 'hsts'];
const HOST = /^(\*|(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/;
const MAX_SERVERS = 32;

function hosts(issues: Issues, value: unknown, path: string): string[] {
  const list = issues.list(value, path, 'host names', true) ?? [];
  const out: string[] = [];
  for (const [i, h] of list.entries()) {
    if (typeof h !== 'string' || !HOST.test(h.toLowerCase()))
      issues.expected(field(path, i), 'a host name, *.suffix or *', h);
    else out.push(h.toLowerCase());
  }
  return out;
}

function absolutePath(issues: Issues, value: unknown, path: string): void {
  if (issues.string(value, path) && !value.startsWith('/')) issues.expected(path, 'an absolute path', value);
}

/** What the HTTPS servers of one port share (one TLS listener): SNI names, the default certificate, the version. */
interface PortTls {
  names: Set<string>;
  defaults: number;
  minVersion?: { value: string; path: string };
}

function tls(issues: Issues, value: unknown, path: string, port: PortTls): void {
  const t = issues.object(value, path, ['certificates', 'minVersion']);
  if (t === undefined) return;
  if (
    t['minVersion'] !== undefined &&
    issues.oneOf(t['minVersion'], field(path, 'minVersion'), ['TLSv1_2', 'TLSv1_3'])
  ) {
    const v = t['minVersion'] as string;
    if (port.minVersion !== undefined && port.minVersion.value !== v)
      issues.add(
        field(path, 'minVersion'),
        `${v} differs from ${port.minVersion.value} at ${port.minVersion.path} (one TLS listener per port)`,
      );
    port.minVersion ??= { value: v, path: field(path, 'minVersion') };
  }
  if (!issues.required(t, path, 'certificates', 'a list of { hosts, certFile, keyFile }')) return;
  const certs = issues.list(t['certificates'], field(path, 'certificates'), '{ hosts, certFile, keyFile }', true) ?? [];
  const names = port.names;
  for (const [i, c] of certs.entries()) {
    const cpath = field(field(path, 'certificates'), i);
    const o = issues.object(c, cpath, ['hosts', 'certFile', 'keyFile']);
    if (o === undefined) continue;
    if (issues.required(o, cpath, 'certFile', 'the PEM certificate chain file'))
      absolutePath(issues, o['certFile'], field(cpath, 'certFile'));
    if (issues.required(o, cpath, 'keyFile', 'the PEM private key file'))
      absolutePath(issues, o['keyFile'], field(cpath, 'keyFile'));
    if (o['hosts'] === undefined) {
      if (++port.defaults > 1) issues.add(cpath, 'only one certificate per port may leave hosts out (the default)');
      continue;
    }
    for (const h of hosts(issues, o['hosts'], field(cpath, 'hosts'))) {
      if (h === '*') issues.add(field(cpath, 'hosts'), 'leave hosts out for the default certificate instead of "*"');
      else if (names.has(h)) issues.add(field(cpath, 'hosts'), `host ${h} has two certificates on this port`);
      names.add(h);
    }
  }
}

export function validateGatewaySpec(spec: Record<string, unknown>, issues: Issues): void {
  if (spec['rateLimit'] !== undefined) validateRateLimit(spec['rateLimit'], 'spec.rateLimit', issues);
  if (!issues.required(spec, 'spec', 'servers', 'a list of { port, protocol, hosts, … }')) return;
  const servers = issues.list(spec['servers'], 'spec.servers', 'servers', true) ?? [];
  if (servers.length > MAX_SERVERS) issues.add('spec.servers', `at most ${MAX_SERVERS} servers, got ${servers.length}`);
  const protocolOfPort = new Map<number, string>();
  const tlsOfPort = new Map<number, PortTls>();
  for (const [i, sv] of servers.entries()) {
    const path = field('spec.servers', i);
    const s = issues.object(sv, path, SERVER_FIELDS);
    if (s === undefined) continue;
    const portOk =
      issues.required(s, path, 'port', 'a port') && issues.integer(s['port'], field(path, 'port'), 1, 65535);
    const protocolOk =
      issues.required(s, path, 'protocol', 'HTTP|HTTPS') &&
      issues.oneOf(s['protocol'], field(path, 'protocol'), ['HTTP', 'HTTPS']);
    if (issues.required(s, path, 'hosts', 'host names or *')) hosts(issues, s['hosts'], field(path, 'hosts'));
    if (portOk && protocolOk) {
      const other = protocolOfPort.get(s['port'] as number);
      if (other !== undefined && other !== s['protocol'])
        issues.add(field(path, 'protocol'), `port ${String(s['port'])} is already ${other}`);
      protocolOfPort.set(s['port'] as number, s['protocol'] as string);
    }
    const https = s['protocol'] === 'HTTPS';
    if (https) {
      if (issues.required(s, path, 'tls', '{ certificates: [{ hosts, certFile, keyFile }] }')) {
        const key = typeof s['port'] === 'number' ? s['port'] : -1;
        const portTls = tlsOfPort.get(key) ?? { names: new Set<string>(), defaults: 0 };
        tlsOfPort.set(key, portTls);
        tls(issues, s['tls'], field(path, 'tls'), portTls);
      }
      if (s['httpsRedirect'] !== undefined) issues.add(field(path, 'httpsRedirect'), 'only for HTTP servers');
    } else {
      if (s['tls'] !== undefined) issues.add(field(path, 'tls'), 'only for HTTPS servers');
      if (s['hsts'] !== undefined)
        issues.add(field(path, 'hsts'), 'only for HTTPS servers (browsers ignore it over HTTP)');
      if (s['httpsRedirect'] !== undefined) issues.boolean(s['httpsRedirect'], field(path, 'httpsRedirect'));
    }
    if (s['hsts'] !== undefined && https) {
      const h = issues.object(s['hsts'], field(path, 'hsts'), ['maxAge', 'includeSubDomains', 'preload']);
      if (h !== undefined && issues.required(h, field(path, 'hsts'), 'maxAge', 'a duration such as 8760h'))
        issues.duration(h['maxAge'], field(field(path, 'hsts'), 'maxAge'), true);
      for (const k of ['includeSubDomains', 'preload'])
        if (h?.[k] !== undefined) issues.boolean(h[k], field(field(path, 'hsts'), k));
    }
  }
}
