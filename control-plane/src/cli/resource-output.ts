// How `trellisctl get` prints resources: a per-kind table, YAML documents or JSON.
import { stringify } from 'yaml';
import { canonicalResource } from '../resources/canonical.ts';
import type { Kind, Resource } from '../resources/types.ts';
import { formatAge, renderTable } from './format/table.ts';

export type OutputFormat = 'table' | 'yaml' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'yaml', 'json'];

function rowOf(r: Resource): string[] {
  const common = [String(r.metadata.generation ?? '-'), formatAge(r.metadata.createdAt)];
  switch (r.kind) {
    case 'Service': {
      const ports = r.spec.ports.map((p) => `${p.name}:${p.port}/${p.protocol}`).join(',');
      return [r.metadata.name, ports, String(r.spec.endpoints?.length ?? 0), ...common];
    }
    case 'Route': {
      const services = [...new Set(r.spec.http.flatMap((rule) => (rule.route ?? []).map((d) => d.service)))].join(',');
      return [r.metadata.name, r.spec.hosts.join(','), String(r.spec.http.length), services, ...common];
    }
    case 'TrafficPolicy': {
      const subsets = (r.spec.subsets ?? []).map((s) => s.name).join(',') || '-';
      return [r.metadata.name, r.spec.service, subsets, r.spec.loadBalancer?.algorithm ?? '-', ...common];
    }
    case 'Telemetry': {
      const tracing = r.spec.tracing ? `${r.spec.tracing.samplingPercent}%` : '-';
      const log = r.spec.accessLog
        ? `${r.spec.accessLog.path}${r.spec.accessLog.samplingPercent === undefined ? '' : ` (${r.spec.accessLog.samplingPercent}%)`}`
        : '-';
      return [r.metadata.name, r.spec.selector?.service ?? '(mesh)', tracing, log, ...common];
    }
    case 'PeerAuthentication':
      return [r.metadata.name, r.spec.selector?.service ?? '(mesh)', r.spec.mtls.mode, ...common];
    case 'Gateway':
      return [
        r.metadata.name,
        r.spec.servers.map((sv) => `${sv.port}/${sv.protocol}`).join(','),
        [...new Set(r.spec.servers.flatMap((sv) => sv.hosts))].join(','),
        ...common,
      ];
    case 'RequestAuthentication':
      return [
        r.metadata.name,
        r.spec.selector?.service ?? '(mesh)',
        r.spec.jwtRules.map((j) => j.issuer).join(','),
        ...common,
      ];
    case 'AuthorizationPolicy':
      return [
        r.metadata.name,
        r.spec.selector?.service ?? '(mesh)',
        `${r.spec.action ?? 'ALLOW'}${r.spec.dryRun === true ? ' (dry run)' : ''}`,
        String(r.spec.rules?.length ?? 0),
        ...common,
      ];
  }
}

const HEADERS: Record<Kind, string[]> = {
  Service: ['NAME', 'PORTS', 'STATIC ENDPOINTS', 'GENERATION', 'AGE'],
  Route: ['NAME', 'HOSTS', 'RULES', 'SERVICES', 'GENERATION', 'AGE'],
  TrafficPolicy: ['NAME', 'SERVICE', 'SUBSETS', 'LB', 'GENERATION', 'AGE'],
  Telemetry: ['NAME', 'SELECTOR', 'TRACE SAMPLING', 'ACCESS LOG', 'GENERATION', 'AGE'],
  PeerAuthentication: ['NAME', 'SELECTOR', 'MTLS MODE', 'GENERATION', 'AGE'],
  AuthorizationPolicy: ['NAME', 'SELECTOR', 'ACTION', 'RULES', 'GENERATION', 'AGE'],
  RequestAuthentication: ['NAME', 'SELECTOR', 'ISSUERS', 'GENERATION', 'AGE'],
  Gateway: ['NAME', 'PORTS', 'HOSTS', 'GENERATION', 'AGE'],
};

/** Renders resources of one kind; `single` prints a lone object (not a list) for yaml/json. */
export function formatResources(
  kind: Kind,
  resources: readonly Resource[],
  format: OutputFormat,
  single: boolean,
): string {
  switch (format) {
    case 'table':
      return renderTable(HEADERS[kind], resources.map(rowOf));
    case 'yaml':
      return resources.map((r) => stringify(canonicalResource(r), { lineWidth: 0 })).join('---\n');
    case 'json': {
      const docs = resources.map(canonicalResource);
      return `${JSON.stringify(single ? docs[0] : docs, null, 2)}\n`;
    }
  }
}
