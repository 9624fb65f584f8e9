// Decodes a ClusterLoadAssignment (EDS, or a STATIC cluster's load_assignment) into weighted localities.
import { isIP } from 'node:net';
import {
  at,
  type Decoded,
  decodeResource,
  enumName,
  fail,
  num,
  type Obj,
  objList,
  optObj,
  port,
  reqObj,
  str,
  structToJson,
  wrappedNum,
} from './decode-values.ts';
import type { ClusterLoadAssignmentConfig, EndpointConfig, LocalityEndpoints } from './model.ts';

const HEALTH: Readonly<Record<string, EndpointConfig['health']>> = {
  UNKNOWN: 'unknown',
  HEALTHY: 'healthy',
  DEGRADED: 'healthy',
  UNHEALTHY: 'unhealthy',
  TIMEOUT: 'unhealthy',
  DRAINING: 'draining',
};

/** The lb_endpoint metadata filter a cluster's transport_socket_matches read. */
const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';

function lbEndpoint(o: Obj, path: string): EndpointConfig {
  if (o['endpoint_name'] !== undefined) fail(at(path, 'endpoint_name'), 'named endpoints are not supported');
  const endpoint = reqObj(o['endpoint'], at(path, 'endpoint'));
  const epath = at(path, 'endpoint');
  if (endpoint['additional_addresses'] !== undefined) {
    fail(at(epath, 'additional_addresses'), 'additional addresses are not supported');
  }
  const address = reqObj(endpoint['address'], at(epath, 'address'));
  const sa = reqObj(address['socket_address'], at(at(epath, 'address'), 'socket_address'));
  const sapath = at(at(epath, 'address'), 'socket_address');
  const ip = str(sa['address']);
  if (isIP(ip) === 0) fail(at(sapath, 'address'), `expected an IP address, got ${JSON.stringify(ip)}`);
  const weight = wrappedNum(o['load_balancing_weight'], at(path, 'load_balancing_weight'), 1);
  if (!Number.isInteger(weight) || weight < 1) fail(at(path, 'load_balancing_weight'), 'expected a positive integer');
  const healthName = enumName(o['health_status'], 'UNKNOWN');
  const health = HEALTH[healthName] ?? fail(at(path, 'health_status'), `unknown health status ${healthName}`);
  const endpointConfig: EndpointConfig = {
    address: ip,
    port: port(sa['port_value'], at(sapath, 'port_value')),
    weight,
    health,
  };
  const filterMetadata = optObj(
    optObj(o['metadata'], at(path, 'metadata'))?.['filter_metadata'],
    at(at(path, 'metadata'), 'filter_metadata'),
  );
  const match = filterMetadata?.[TRANSPORT_SOCKET_MATCH];
  if (match !== undefined) {
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(structToJson(match))) if (typeof v === 'string') values[k] = v;
    endpointConfig.transportMatch = values;
  }
  return endpointConfig;
}

/** The `endpoints` list of a ClusterLoadAssignment (throws DecodeError naming the field path). */
export function localities(v: unknown, path: string): LocalityEndpoints[] {
  return objList(v, path).map((l, i) => {
    const lpath = at(path, i);
    const locality = optObj(l['locality'], at(lpath, 'locality')) ?? {};
    const weight = wrappedNum(l['load_balancing_weight'], at(lpath, 'load_balancing_weight'), 1);
    if (!Number.isInteger(weight) || weight < 1)
      fail(at(lpath, 'load_balancing_weight'), 'expected a positive integer');
    return {
      zone: str(locality['zone']),
      region: str(locality['region']),
      priority: num(l['priority'], at(lpath, 'priority'), 0),
      weight,
      endpoints: objList(l['lb_endpoints'], at(lpath, 'lb_endpoints')).map((e, j) =>
        lbEndpoint(e, at(at(lpath, 'lb_endpoints'), j)),
      ),
    };
  });
}

/** A ClusterLoadAssignment object (throws DecodeError). */
export function loadAssignment(o: Obj, path: string, version: string): ClusterLoadAssignmentConfig {
  const policy = optObj(o['policy'], at(path, 'policy'));
  if (policy && objList(policy['drop_overloads'], at(at(path, 'policy'), 'drop_overloads')).length > 0) {
    fail(at(at(path, 'policy'), 'drop_overloads'), 'drop overloads are not supported');
  }
  return {
    clusterName: str(o['cluster_name']),
    localities: localities(o['endpoints'], at(path, 'endpoints')),
    version,
  };
}

/** Decodes an EDS resource. */
export function decodeClusterLoadAssignment(o: Obj, version: string): Decoded<ClusterLoadAssignmentConfig> {
  return decodeResource('cluster load assignment', str(o['cluster_name']), () => loadAssignment(o, '', version));
}
