// Load balancing policies by ClusterConfig.lbPolicy; the built-in ones are registered by an explicit setup().
import type { Logger } from 'pino';
import type { LbPolicyName } from '../../config/model.ts';
import { setup as setupLeastConnections } from './least-connections.ts';
import { setup as setupLeastRequest } from './least-request.ts';
import { setup as setupLeastResponseTime } from './least-response-time.ts';
import type { LoadBalancer, LoadBalancerFactory } from './load-balancer.ts';
import { setup as setupMaglev } from './maglev.ts';
import { setup as setupRandom } from './random.ts';
import { setup as setupRingHash } from './ring-hash.ts';
import { setup as setupRoundRobin } from './round-robin.ts';

/** The policy used when a cluster asks for one this build does not implement yet. */
export const FALLBACK_LB_POLICY: LbPolicyName = 'ROUND_ROBIN';

export class LbRegistry {
  private readonly factories = new Map<LbPolicyName, LoadBalancerFactory>();

  /** Registers (or replaces) the factory for a policy. */
  register(policy: LbPolicyName, factory: LoadBalancerFactory): void {
    this.factories.set(policy, factory);
  }

  has(policy: LbPolicyName): boolean {
    return this.factories.has(policy);
  }

  policies(): LbPolicyName[] {
    return [...this.factories.keys()];
  }

  /**
   * A balancer for `policy`. An unregistered policy (a registry set up with fewer policies) falls back to round robin
   * with a warning; the xDS decoder has already NACKed what is truly unsupported. Throws only when even the fallback
   * is missing, i.e. setup() was never called.
   */
  create(
    policy: LbPolicyName,
    lbConfig: Readonly<Record<string, unknown>>,
    context: { cluster: string; logger?: Logger | undefined },
  ): LoadBalancer {
    const factory = this.factories.get(policy);
    if (factory !== undefined) return factory(lbConfig);
    const fallback = this.factories.get(FALLBACK_LB_POLICY);
    if (fallback === undefined) {
      throw new Error(`no load balancing policy registered for ${policy} (was the LB registry setup() called?)`);
    }
    context.logger?.warn(
      { cluster: context.cluster, lbPolicy: policy, fallback: FALLBACK_LB_POLICY },
      'load balancing policy not implemented yet; using round robin',
    );
    return fallback(lbConfig);
  }
}

/** Registers the built-in policies (every LbPolicyName) into `registry` (a new one by default) and returns it. */
export function setup(registry: LbRegistry = new LbRegistry()): LbRegistry {
  setupRoundRobin(registry);
  setupLeastRequest(registry);
  setupRandom(registry);
  setupRingHash(registry);
  setupMaglev(registry);
  setupLeastConnections(registry);
  setupLeastResponseTime(registry);
  return registry;
}
