// Kind names as users type them (service, svc, routes, tp, …) resolved to the canonical Kind.
import { KINDS, type Kind } from './types.ts';

const ALIASES: Record<string, Kind> = {
  service: 'Service',
  services: 'Service',
  svc: 'Service',
  route: 'Route',
  routes: 'Route',
  trafficpolicy: 'TrafficPolicy',
  trafficpolicies: 'TrafficPolicy',
  tp: 'TrafficPolicy',
  telemetry: 'Telemetry',
  telemetries: 'Telemetry',
  tel: 'Telemetry',
  peerauthentication: 'PeerAuthentication',
  peerauthentications: 'PeerAuthentication',
  pa: 'PeerAuthentication',
  authorizationpolicy: 'AuthorizationPolicy',
  authorizationpolicies: 'AuthorizationPolicy',
  authz: 'AuthorizationPolicy',
  requestauthentication: 'RequestAuthentication',
  requestauthentications: 'RequestAuthentication',
  ra: 'RequestAuthentication',
  gateway: 'Gateway',
  gateways: 'Gateway',
  gw: 'Gateway',
};

/** The accepted spellings, for help and error texts. */
export const KIND_ALIASES_HELP =
  'service(s)/svc, route(s), trafficpolicy/trafficpolicies/tp, telemetry/telemetries/tel, peerauthentication(s)/pa, authorizationpolicy/authorizationpolicies/authz, requestauthentication(s)/ra, gateway(s)/gw';

/** The Kind for a canonical name or an alias (case-insensitive), or undefined. */
export function parseKind(text: string): Kind | undefined {
  return ALIASES[text.toLowerCase()];
}

export function unknownKindMessage(text: string): string {
  return `unknown kind "${text}", expected one of ${KINDS.join('|')} (or ${KIND_ALIASES_HELP})`;
}
