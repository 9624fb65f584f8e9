// A request view adapted to what hash policies read (hash-key.ts): headers, cookies, source IP, query parameters.
import type { HashRequest } from '../../upstream/lb/hash-key.ts';
import type { HeaderList } from '../message/header-list.ts';
import type { RequestView } from '../message/request-view.ts';

/** The value of one cookie in a Cookie header. */
export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A cookie's value from every Cookie header of a flat list (HTTP/2 may split cookies over several). */
export function cookieFromHeaders(headers: HeaderList, name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'cookie') continue;
    const v = cookieValue(headers[i + 1], name);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** HashRequest over a request view (the exchange hashes once the upstream request headers are prepared). */
export class ViewHashRequest implements HashRequest {
  readonly sourceIp: string;
  private readonly view: RequestView;

  constructor(view: RequestView, peer: string) {
    this.view = view;
    this.sourceIp = peer;
  }

  header(name: string): string | undefined {
    return this.view.header(name);
  }

  cookie(name: string): string | undefined {
    return cookieFromHeaders(this.view.headers, name);
  }

  query(name: string): string | undefined {
    return this.view.queryParam(name) ?? undefined;
  }
}
