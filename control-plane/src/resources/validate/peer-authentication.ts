// Validates a PeerAuthentication spec: an optional service selector and the mTLS mode (STRICT, PERMISSIVE, DISABLE).
import type { Issues } from './issues.ts';

export const PEER_AUTHENTICATION_FIELDS = ['selector', 'mtls'];
const MODES = ['STRICT', 'PERMISSIVE', 'DISABLE'];

export function validatePeerAuthenticationSpec(spec: Record<string, unknown>, issues: Issues): void {
  if (spec['selector'] !== undefined) {
    const selector = issues.object(spec['selector'], 'spec.selector', ['service']);
    if (selector && issues.required(selector, 'spec.selector', 'service', 'the name of a Service'))
      issues.dnsLabel(selector['service'], 'spec.selector.service');
  }
  if (!issues.required(spec, 'spec', 'mtls', '{ mode: STRICT|PERMISSIVE|DISABLE }')) return;
  const mtls = issues.object(spec['mtls'], 'spec.mtls', ['mode']);
  if (mtls && issues.required(mtls, 'spec.mtls', 'mode', MODES.join('|')) && !MODES.includes(mtls['mode'] as string))
    issues.expected('spec.mtls.mode', MODES.join('|'), mtls['mode']);
}
