// One downstream request head, normalized across HTTP/1.1 and HTTP/2: what routing matches on and what goes upstream.
import type { Http2ServerRequest } from 'node:http2';
import { type HeaderList, headerGet, headerRemove } from './header-list.ts';
import type { HeaderValueSource } from './header-value-format.ts';

/** Connection tokens that are never header names to strip. */
const CONNECTION_OPTIONS = new Set(['close', 'keep-alive', 'upgrade', 'te', 'http2-settings']);

export class RequestView implements HeaderValueSource {
  method: string;
  scheme: string;
  /** Authority as received (`host[:port]`), from the absolute-form target, :authority or Host. */
  authority: string;
  /** Path without the query string ('*' for `OPTIONS *`, the authority for CONNECT). */
  path: string;
  /** The query string including '?', or ''. */
  query: string;
  /** End-to-end request headers, lower-case names; no Host, pseudo or hop-by-hop headers. Becomes the upstream list. */
  headers: HeaderList;
  /** The Upgrade header when the Connection header named it (h1 only). */
  upgrade: string | undefined;
  readonly isConnect: boolean;
  readonly isH2: boolean;
  /** The connection's peer address, once the router prepared the upstream headers ('' before). */
  peerAddress = '';
  /** The trusted client address (the peer, or from X-Forwarded-For with trusted hops), likewise. */
  clientAddress = '';
  private params: URLSearchParams | undefined;

  constructor(method: string, scheme: string, authority: string, target: string, headers: HeaderList, isH2: boolean) {
    this.method = method;
    this.scheme = scheme;
    this.authority = authority;
    this.headers = headers;
    this.upgrade = undefined;
    this.isConnect = method === 'CONNECT';
    this.isH2 = isH2;
    this.params = undefined;
    const q = this.isConnect ? -1 : target.indexOf('?');
    if (q < 0) {
      this.path = target;
      this.query = '';
    } else {
      this.path = target.slice(0, q);
      this.query = target.slice(q);
    }
  }

  /** A header for matching: pseudo headers (':method', ':authority', ':path', ':scheme') and 'host' map to the head. */
  header(name: string): string | undefined {
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':method') return this.method;
      if (name === ':authority') return this.authority;
      if (name === ':path') return this.path + this.query;
      if (name === ':scheme') return this.scheme;
      return undefined;
    }
    if (name === 'host') return this.authority;
    return headerGet(this.headers, name);
  }

  /** A query parameter's first value (null when absent); parsed once, on first use. */
  queryParam(name: string): string | null {
    if (this.params === undefined) this.params = new URLSearchParams(this.query);
    return this.params.get(name);
  }
}

/** What an HTTP/1.1 request head offers (H1ServerRequest; header names in any case). */
export interface H1Head {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
}

/** Builds the view of an HTTP/1.1 request; undefined when the head is not something we can forward (→ 400). */
export function viewFromH1(req: H1Head): RequestView | undefined {
  const raw = req.rawHeaders;
  const method = req.method;
  let target = req.url;
  const headers: HeaderList = [];
  let host: string | undefined;
  let connection: string | undefined;
  let upgrade: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    switch (name) {
      case 'host':
        if (host !== undefined) return undefined;
        host = value;
        break;
      case 'connection':
        connection = connection === undefined ? value : `${connection},${value}`;
        break;
      case 'upgrade':
        upgrade = value;
        break;
      case 'te':
        if (/(^|,)\s*trailers\s*(;|,|$)/i.test(value)) headers.push('te', 'trailers');
        break;
      case 'keep-alive':
      case 'proxy-connection':
      case 'transfer-encoding':
      case 'proxy-authorization':
      case 'http2-settings':
      case 'expect':
        break;
      default:
        headers.push(name, value);
    }
  }
  let authority = host;
  const c = target.charCodeAt(0);
  if (method === 'CONNECT') {
    authority = target;
  } else if (c !== 47 /* / */) {
    if (c === 104 || c === 72 /* h H */) {
      const abs = splitAbsoluteForm(target);
      if (abs === undefined) return undefined;
      authority = abs.authority;
      target = abs.target;
    } else if (!(target === '*' && method === 'OPTIONS')) {
      return undefined;
    }
  }
  if (authority === undefined || authority === '') return undefined;
  const view = new RequestView(method, 'http', authority, target, headers, false);
  if (connection !== undefined) {
    stripConnectionTokens(headers, connection);
    if (upgrade !== undefined && /(^|,)\s*upgrade\s*(,|$)/i.test(connection)) view.upgrade = upgrade;
  }
  return view;
}

/** Builds the view of an HTTP/2 request (compat API); cookie crumbs are joined for HTTP/1.1 upstreams (RFC 9113 §8.2.3). */
export function viewFromH2(req: Http2ServerRequest): RequestView | undefined {
  const raw = req.rawHeaders;
  const headers: HeaderList = [];
  let method = 'GET';
  let path = '';
  let authority: string | undefined;
  let host: string | undefined;
  let scheme = 'http';
  let cookieAt = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':authority') authority = value;
      else if (name === ':scheme') scheme = value;
      continue;
    }
    if (name === 'host') host = value;
    else if (name === 'cookie') {
      if (cookieAt < 0) {
        cookieAt = headers.length + 1;
        headers.push(name, value);
      } else headers[cookieAt] = `${headers[cookieAt]}; ${value}`;
    } else if (name !== 'te' || value === 'trailers') headers.push(name, value);
  }
  authority ??= host;
  if (authority === undefined || authority === '') return undefined;
  if (method === 'CONNECT') path = authority;
  else if (path.charCodeAt(0) !== 47 && !(path === '*' && method === 'OPTIONS')) return undefined;
  return new RequestView(method, scheme, authority, path, headers, true);
}

/** Splits `http://authority/path?q` into authority and origin-form target. */
export function splitAbsoluteForm(url: string): { authority: string; target: string } | undefined {
  const sep = url.indexOf('://');
  if (sep < 0) return undefined;
  const scheme = url.slice(0, sep).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  const start = sep + 3;
  let end = start;
  while (end < url.length) {
    const ch = url.charCodeAt(end);
    if (ch === 47 || ch === 63 || ch === 35 /* / ? # */) break;
    end++;
  }
  let authority = url.slice(start, end);
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  if (authority === '') return undefined;
  let target = url.slice(end);
  if (target === '' || target.charCodeAt(0) === 63) target = `/${target}`;
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  return { authority, target };
}

/** Removes the headers a Connection header names (RFC 9110 §7.6.1). */
function stripConnectionTokens(headers: HeaderList, connection: string): void {
  if (connection.indexOf(',') < 0 && CONNECTION_OPTIONS.has(connection.trim().toLowerCase())) return;
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !CONNECTION_OPTIONS.has(name)) headerRemove(headers, name);
  }
}
