// Validates a Service spec: ports (unique names and numbers, known protocols), static endpoints, sidecar options.
import { isIP } from 'node:net';
import { MAX_ENDPOINT_WEIGHT, MIN_ENDPOINT_WEIGHT } from '../../common/limits.ts';
import type { Protocol } from '../types.ts';
import { field, type Issues } from './issues.ts';
import { validateLabels } from './labels.ts';
import { validateSidecarOptions } from './sidecar-options.ts';

export const PROTOCOLS: readonly Protocol[] = ['HTTP', 'HTTP2', 'GRPC', 'TCP'];

export const SERVICE_FIELDS = ['ports', 'endpoints', 'sidecar'];

export function validateServiceSpec(spec: Record<string, unknown>, issues: Issues): void {
  const path = 'spec';
  if (issues.required(spec, path, 'ports', 'a non-empty list of ports')) {
    const ports = issues.list(spec['ports'], field(path, 'ports'), 'ports ({name, port, protocol})', true);
    if (ports) validatePorts(ports, field(path, 'ports'), issues);
  }
  if (spec['endpoints'] !== undefined) {
    const endpoints = issues.list(spec['endpoints'], field(path, 'endpoints'), 'endpoints ({address, port})');
    endpoints?.forEach((e, i) => {
      validateEndpoint(e, field(field(path, 'endpoints'), i), issues);
    });
  }
  if (spec['sidecar'] !== undefined) validateSidecarOptions(spec['sidecar'], field(path, 'sidecar'), issues);
}

function validatePorts(ports: unknown[], path: string, issues: Issues): void {
  const names = new Map<string, number>();
  const numbers = new Map<number, number>();
  ports.forEach((p, i) => {
    const at = field(path, i);
    const port = issues.object(p, at, ['name', 'port', 'protocol']);
    if (!port) return;
    if (issues.required(port, at, 'name', 'a DNS-1123 label') && issues.dnsLabel(port['name'], field(at, 'name'))) {
      const first = names.get(port['name']);
      if (first !== undefined)
        issues.add(field(at, 'name'), `duplicate port name "${port['name']}" (also ports[${first}])`);
      else names.set(port['name'], i);
    }
    if (
      issues.required(port, at, 'port', 'a port number 1-65535') &&
      issues.integer(port['port'], field(at, 'port'), 1, 65535)
    ) {
      const first = numbers.get(port['port']);
      if (first !== undefined)
        issues.add(field(at, 'port'), `duplicate port number ${port['port']} (also ports[${first}])`);
      else numbers.set(port['port'], i);
    }
    if (issues.required(port, at, 'protocol', `one of ${PROTOCOLS.join('|')}`)) {
      issues.oneOf(port['protocol'], field(at, 'protocol'), PROTOCOLS);
    }
  });
}

function validateEndpoint(value: unknown, path: string, issues: Issues): void {
  const e = issues.object(value, path, ['address', 'port', 'labels', 'weight', 'zone']);
  if (!e) return;
  if (issues.required(e, path, 'address', 'an IP address')) {
    const address = e['address'];
    if (typeof address !== 'string' || isIP(address) === 0) {
      issues.expected(field(path, 'address'), 'an IP address literal such as 10.0.0.7 or ::1', address);
    }
  }
  if (issues.required(e, path, 'port', 'a port number 1-65535'))
    issues.integer(e['port'], field(path, 'port'), 1, 65535);
  if (e['weight'] !== undefined)
    issues.integer(e['weight'], field(path, 'weight'), MIN_ENDPOINT_WEIGHT, MAX_ENDPOINT_WEIGHT);
  if (e['labels'] !== undefined) validateLabels(e['labels'], field(path, 'labels'), issues);
  if (e['zone'] !== undefined) issues.string(e['zone'], field(path, 'zone'));
}
