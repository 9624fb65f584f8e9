// Validates a TrafficPolicy's loadBalancer: the algorithm and its knobs, hashing, sticky sessions, locality, panic.
import {
  effectiveAlgorithm,
  HASH_ALGORITHMS,
  isHashAlgorithm,
  isPrime,
  LB_ALGORITHMS,
  MAX_MAGLEV_TABLE_SIZE,
  MAX_RING_SIZE,
} from '../load-balancer.ts';
import type { LbAlgorithm } from '../types.ts';
import { describe, field, type Issues, UINT32_MAX } from './issues.ts';

export const LOAD_BALANCER_FIELDS = [
  'algorithm',
  'choiceCount',
  'ringSize',
  'tableSize',
  'consistentHash',
  'stickySession',
  'localityLb',
  'panicThreshold',
];
const HASH_KEYS = ['header', 'cookie', 'sourceIp', 'queryParam'];
/** RFC 6265 cookie names are HTTP tokens. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function validateLoadBalancer(value: unknown, path: string, issues: Issues): void {
  const lb = issues.object(value, path, LOAD_BALANCER_FIELDS);
  if (!lb) return;
  const written = lb['algorithm'];
  const known = written === undefined || issues.oneOf(written, field(path, 'algorithm'), LB_ALGORITHMS);
  const algorithm = effectiveAlgorithm({
    algorithm: known ? (written as LbAlgorithm | undefined) : undefined,
    stickySession: lb['stickySession'],
  });
  /** Reports `key` when set but meaningless for the algorithm in effect (only once the algorithm is known). */
  const onlyWith = (key: string, allowed: readonly LbAlgorithm[]): boolean => {
    if (lb[key] === undefined) return false;
    if (known && !allowed.includes(algorithm)) {
      issues.add(field(path, key), `only allowed with algorithm ${allowed.join(' or ')}, got ${algorithm}`);
    }
    return true;
  };
  if (onlyWith('choiceCount', ['LEAST_REQUEST'])) {
    issues.integer(lb['choiceCount'], field(path, 'choiceCount'), 2, UINT32_MAX);
  }
  if (onlyWith('ringSize', ['RING_HASH'])) validateRingSize(lb['ringSize'], field(path, 'ringSize'), issues);
  if (onlyWith('tableSize', ['MAGLEV'])) {
    const size = lb['tableSize'];
    if (typeof size !== 'number' || size > MAX_MAGLEV_TABLE_SIZE || !isPrime(size)) {
      issues.expected(field(path, 'tableSize'), `a prime number up to ${MAX_MAGLEV_TABLE_SIZE} such as 65537`, size);
    }
  }
  issues.atMostOne(lb, path, ['consistentHash', 'stickySession']);
  if (onlyWith('consistentHash', HASH_ALGORITHMS)) {
    validateConsistentHash(lb['consistentHash'], field(path, 'consistentHash'), issues);
  }
  if (lb['stickySession'] !== undefined) {
    const at = field(path, 'stickySession');
    if (known && !isHashAlgorithm(algorithm)) {
      issues.add(at, `only allowed with algorithm RING_HASH or MAGLEV (or none: RING_HASH), got ${algorithm}`);
    }
    const sticky = issues.object(lb['stickySession'], at, ['cookie']);
    if (sticky && issues.required(sticky, at, 'cookie', 'a mapping with a cookie name')) {
      validateCookie(sticky['cookie'], field(at, 'cookie'), issues, true);
    }
  }
  if (lb['localityLb'] !== undefined) {
    const at = field(path, 'localityLb');
    const locality = issues.object(lb['localityLb'], at, ['preferLocalZone']);
    if (locality && issues.required(locality, at, 'preferLocalZone', 'true or false')) {
      issues.boolean(locality['preferLocalZone'], field(at, 'preferLocalZone'));
    }
  }
  if (lb['panicThreshold'] !== undefined) issues.number(lb['panicThreshold'], field(path, 'panicThreshold'), 0, 100);
}

function validateRingSize(value: unknown, path: string, issues: Issues): void {
  const ring = issues.object(value, path, ['min', 'max']);
  if (!ring) return;
  const min = ring['min'];
  const max = ring['max'];
  const minOk = min !== undefined && issues.integer(min, field(path, 'min'), 1, MAX_RING_SIZE);
  const maxOk = max !== undefined && issues.integer(max, field(path, 'max'), 1, MAX_RING_SIZE);
  if (minOk && maxOk && min > max) issues.add(field(path, 'min'), `expected at most max (${max}), got ${min}`);
}

function validateConsistentHash(value: unknown, at: string, issues: Issues): void {
  const hash = issues.object(value, at, HASH_KEYS);
  if (!hash) return;
  issues.exactlyOne(hash, at, HASH_KEYS);
  if (hash['header'] !== undefined) issues.string(hash['header'], field(at, 'header'));
  if (hash['queryParam'] !== undefined) issues.string(hash['queryParam'], field(at, 'queryParam'));
  if (hash['sourceIp'] !== undefined && hash['sourceIp'] !== true)
    issues.expected(field(at, 'sourceIp'), 'true', hash['sourceIp']);
  if (hash['cookie'] !== undefined) validateCookie(hash['cookie'], field(at, 'cookie'), issues, false);
}

/** A hash cookie {name, ttl, path}; sticky-session cookies may also say httpOnly (true only). */
function validateCookie(value: unknown, at: string, issues: Issues, sticky: boolean): void {
  const cookie = issues.object(value, at, sticky ? ['name', 'ttl', 'path', 'httpOnly'] : ['name', 'ttl', 'path']);
  if (!cookie) return;
  const name = cookie['name'];
  if (issues.required(cookie, at, 'name', 'a cookie name') && issues.string(name, field(at, 'name'))) {
    if (!COOKIE_NAME.test(name)) {
      issues.add(
        field(at, 'name'),
        `expected a cookie name (letters, digits and !#$%&'*+-.^_\`|~), got ${describe(name)}`,
      );
    }
  }
  if (cookie['ttl'] !== undefined) issues.duration(cookie['ttl'], field(at, 'ttl'));
  const cookiePath = cookie['path'];
  if (cookiePath !== undefined && (typeof cookiePath !== 'string' || !cookiePath.startsWith('/'))) {
    issues.expected(field(at, 'path'), 'a path starting with "/"', cookiePath);
  }
  if (cookie['httpOnly'] !== undefined && cookie['httpOnly'] !== true) {
    issues.expected(
      field(at, 'httpOnly'),
      'true (proxies always mark the cookie they set HttpOnly)',
      cookie['httpOnly'],
    );
  }
}
