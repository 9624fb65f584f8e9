// Renders header mutation values that carry command operators (`x-real-ip: %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%`).
import { hostname } from 'node:os';
import type { HeaderValuePart } from '../../config/model.ts';

/** What command operators read: the request's addresses (the RequestView implements it). */
export interface HeaderValueSource {
  /** The trusted client address (XFF with trusted hops, else the peer): %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%. */
  readonly clientAddress: string;
  /** The connection's peer: %DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%. */
  readonly peerAddress: string;
}

const HOSTNAME = hostname();

/** The value of `parts` for one request; '' when an operator has no value (the header is then not added). */
export function renderHeaderValue(parts: readonly HeaderValuePart[], source: HeaderValueSource | undefined): string {
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as HeaderValuePart;
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    let value: string;
    switch (part.operator) {
      case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
        value = source?.clientAddress ?? '';
        break;
      case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
        value = source?.peerAddress ?? '';
        break;
      case 'HOSTNAME':
        value = HOSTNAME;
        break;
    }
    if (value === '') return '';
    out += value;
  }
  return out;
}
