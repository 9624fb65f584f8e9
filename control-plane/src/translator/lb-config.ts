// The Cluster fields that choose and tune the load balancer (lb_policy, its *_lb_config, common_lb_config), per client.

import type { ClientKind } from '@trellis/node-contract';
import { effectiveAlgorithm, isHashAlgorithm, ringSizeOf } from '../resources/load-balancer.ts';
import type { LbAlgorithm, LoadBalancer } from '../resources/types.ts';
import { compact, u32 } from './proto-values.ts';

/** Envoy's Cluster.LbPolicy values Trellis emits. */
export type EnvoyLbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

/**
 * The lb_policy a client gets for an operator algorithm. gRPC proxyless clients accept only ROUND_ROBIN and
 * RING_HASH: the hashing algorithms (RING_HASH, MAGLEV) become RING_HASH so hashing keeps working, the rest
 * ROUND_ROBIN. LEAST_CONNECTIONS / LEAST_RESPONSE_TIME are Trellis-sidecar policies: they travel as LEAST_REQUEST
 * plus `sidecarAlgorithm` (written to the cluster's trellis metadata as lb_algorithm).
 */
export function lbPolicyFor(
  client: ClientKind,
  algorithm: LbAlgorithm | undefined,
): { policy: EnvoyLbPolicy; sidecarAlgorithm?: LbAlgorithm } {
  const algo = algorithm ?? 'ROUND_ROBIN';
  if (client === 'proxyless') return { policy: isHashAlgorithm(algo) ? 'RING_HASH' : 'ROUND_ROBIN' };
  switch (algo) {
    case 'LEAST_CONNECTIONS':
    case 'LEAST_RESPONSE_TIME':
      return client === 'sidecar' ? { policy: 'LEAST_REQUEST', sidecarAlgorithm: algo } : { policy: 'LEAST_REQUEST' };
    default:
      return { policy: algo };
  }
}

/** common_lb_config: panic threshold and zone-aware routing (proxies only; gRPC has neither). */
function commonLbConfig(lb: LoadBalancer | undefined): Record<string, unknown> | undefined {
  const config = compact({
    healthy_panic_threshold: lb?.panicThreshold === undefined ? undefined : { value: lb.panicThreshold },
    zone_aware_lb_config:
      lb?.localityLb === undefined
        ? undefined
        : { routing_enabled: { value: lb.localityLb.preferLocalZone ? 100 : 0 } },
  });
  return Object.keys(config).length > 0 ? config : undefined;
}

/** The balancer fields of a Cluster, and the Trellis-only algorithm a sidecar reads from metadata. */
export function loadBalancing(
  lb: LoadBalancer | undefined,
  client: ClientKind,
): { fields: Record<string, unknown>; sidecarAlgorithm?: LbAlgorithm } {
  const { policy, sidecarAlgorithm } = lbPolicyFor(client, effectiveAlgorithm(lb));
  const ring = ringSizeOf(lb);
  const fields = compact({
    lb_policy: policy,
    ring_hash_lb_config:
      policy === 'RING_HASH'
        ? { minimum_ring_size: u32(ring.min), maximum_ring_size: u32(ring.max), hash_function: 'XX_HASH' }
        : undefined,
    least_request_lb_config:
      policy === 'LEAST_REQUEST' && sidecarAlgorithm === undefined && lb?.choiceCount !== undefined
        ? { choice_count: u32(lb.choiceCount) }
        : undefined,
    maglev_lb_config:
      policy === 'MAGLEV' && lb?.tableSize !== undefined ? { table_size: u32(lb.tableSize) } : undefined,
    common_lb_config: client === 'proxyless' ? undefined : commonLbConfig(lb),
  });
  return sidecarAlgorithm === undefined ? { fields } : { fields, sidecarAlgorithm };
}
