// Validates one operator document (envelope + per-kind spec) into a typed Resource, with field-path error messages.
import { API_VERSION, KINDS, type Kind, type Metadata, type Resource } from '../types.ts';
import { AUTHORIZATION_POLICY_FIELDS, validateAuthorizationPolicySpec } from './authorization-policy.ts';
import { GATEWAY_FIELDS, validateGatewaySpec } from './gateway.ts';
import { Issues, isRecord } from './issues.ts';
import { validateLabels } from './labels.ts';
import { PEER_AUTHENTICATION_FIELDS, validatePeerAuthenticationSpec } from './peer-authentication.ts';
import { REQUEST_AUTHENTICATION_FIELDS, validateRequestAuthenticationSpec } from './request-authentication.ts';
import { checkResourceSize } from './resource-size.ts';
import { ROUTE_FIELDS, validateRouteSpec } from './route.ts';
import { SERVICE_FIELDS, validateServiceSpec } from './service.ts';
import { TELEMETRY_FIELDS, validateTelemetrySpec } from './telemetry.ts';
import { TRAFFIC_POLICY_FIELDS, validateTrafficPolicySpec } from './traffic-policy.ts';

export interface ValidationResult {
  /** The validated resource (metadata reduced to name and labels); absent when there are errors. */
  resource?: Resource;
  errors: string[];
}

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
/** generation/createdAt/updatedAt are accepted (so `get -o yaml` output re-applies) and ignored: the store sets them. */
const METADATA_FIELDS = ['name', 'labels', 'generation', 'createdAt', 'updatedAt'];

interface SpecRules {
  fields: readonly string[];
  validate: (spec: Record<string, unknown>, issues: Issues) => void;
}

const SPECS: Record<Kind, SpecRules> = {
  Service: { fields: SERVICE_FIELDS, validate: validateServiceSpec },
  Route: { fields: ROUTE_FIELDS, validate: validateRouteSpec },
  TrafficPolicy: { fields: TRAFFIC_POLICY_FIELDS, validate: validateTrafficPolicySpec },
  Telemetry: { fields: TELEMETRY_FIELDS, validate: validateTelemetrySpec },
  PeerAuthentication: { fields: PEER_AUTHENTICATION_FIELDS, validate: validatePeerAuthenticationSpec },
  AuthorizationPolicy: { fields: AUTHORIZATION_POLICY_FIELDS, validate: validateAuthorizationPolicySpec },
  RequestAuthentication: { fields: REQUEST_AUTHENTICATION_FIELDS, validate: validateRequestAuthenticationSpec },
  Gateway: { fields: GATEWAY_FIELDS, validate: validateGatewaySpec },
};

function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}

/** "document 2" becomes "document 2 (Route orders)" once kind and name can be read. */
function label(where: string, doc: Record<string, unknown>): string {
  const kind = typeof doc['kind'] === 'string' && doc['kind'] !== '' ? doc['kind'] : undefined;
  const meta = doc['metadata'];
  const name = isRecord(meta) && typeof meta['name'] === 'string' && meta['name'] !== '' ? meta['name'] : undefined;
  const parts = [kind, name].filter((p) => p !== undefined);
  return parts.length === 0 ? where : `${where} (${parts.join(' ')})`;
}

/**
 * Validates a parsed document. `where` names it in every error (e.g. "document 2"); the kind and name are appended
 * when readable, giving messages like `document 2 (Route orders): spec.http[0].route[1].weight: expected …, got -5`.
 * A document whose encoding passes MAX_RESOURCE_BYTES gets that one error.
 */
export function validateResource(doc: unknown, where: string): ValidationResult {
  const issues = new Issues(where);
  if (!isRecord(doc)) {
    issues.expected('', 'a mapping with apiVersion, kind, metadata and spec', doc);
    return { errors: issues.errors };
  }
  issues.where = label(where, doc);
  // Too large a document is refused as a whole: its size is the one error worth reading.
  if (!checkResourceSize(doc, issues)) return { errors: issues.errors };
  issues.object(doc, '', TOP_FIELDS);
  if (issues.required(doc, '', 'apiVersion', API_VERSION) && doc['apiVersion'] !== API_VERSION) {
    issues.expected('apiVersion', API_VERSION, doc['apiVersion']);
  }
  const kind = doc['kind'];
  if (issues.required(doc, '', 'kind', `one of ${KINDS.join('|')}`) && !isKind(kind)) {
    issues.add(
      'kind',
      `unknown kind ${typeof kind === 'string' ? kind : JSON.stringify(kind)}, expected one of ${KINDS.join('|')}`,
    );
  }
  const metadata = validateMetadata(doc, issues);
  let spec: Record<string, unknown> | undefined;
  if (issues.required(doc, '', 'spec', 'a mapping')) {
    if (isKind(kind)) {
      spec = issues.object(doc['spec'], 'spec', SPECS[kind].fields);
      if (spec) SPECS[kind].validate(spec, issues);
    } else if (!isRecord(doc['spec'])) {
      issues.expected('spec', 'a mapping', doc['spec']);
    }
  }
  if (issues.errors.length > 0 || !metadata || !spec || !isKind(kind)) return { errors: issues.errors };
  // The spec validators checked every field against the kind's spec type.
  const resource = { apiVersion: API_VERSION, kind, metadata, spec: structuredClone(spec) } as unknown as Resource;
  return { resource, errors: [] };
}

function validateMetadata(doc: Record<string, unknown>, issues: Issues): Metadata | undefined {
  if (!issues.required(doc, '', 'metadata', 'a mapping with a name')) return undefined;
  const meta = issues.object(doc['metadata'], 'metadata', METADATA_FIELDS);
  if (!meta) return undefined;
  let ok =
    issues.required(meta, 'metadata', 'name', 'a DNS-1123 label') && issues.dnsLabel(meta['name'], 'metadata.name');
  if (meta['labels'] !== undefined) ok = validateLabels(meta['labels'], 'metadata.labels', issues) && ok;
  if (!ok) return undefined;
  const result: Metadata = { name: meta['name'] as string };
  if (meta['labels'] !== undefined) result.labels = { ...(meta['labels'] as Record<string, string>) };
  return result;
}
