// loadBalancer validation: per-algorithm knobs, hashing vs sticky sessions, cookies, locality and panic threshold.
import { expectErrors, policyErrors } from './testing.ts';

const lb = (loadBalancer: unknown) => policyErrors({ loadBalancer });

describe('validate loadBalancer', () => {
  it('accepts every knob with its algorithm, and an algorithm-less balancer', () => {
    expectErrors(lb, [
      [{ algorithm: 'LEAST_REQUEST', choiceCount: 3, panicThreshold: 12.5 }, []],
      [{ algorithm: 'RING_HASH', ringSize: { min: 1024, max: 1024 }, consistentHash: { header: 'x-u' } }, []],
      [{ algorithm: 'MAGLEV', tableSize: 65537, consistentHash: { sourceIp: true } }, []],
      [{ stickySession: { cookie: { name: 'sid', ttl: '0s', path: '/', httpOnly: true } } }, []],
      [{ algorithm: 'MAGLEV', stickySession: { cookie: { name: 'sid' } }, localityLb: { preferLocalZone: false } }, []],
      [{ localityLb: { preferLocalZone: true } }, []],
      [{ ringSize: { max: 512 }, stickySession: { cookie: { name: '__Host-sid' } } }, []],
    ]);
  });

  it('rejects knobs of another algorithm, naming the algorithm in effect', () => {
    expectErrors(lb, [
      [
        { choiceCount: 3 },
        ['spec.loadBalancer.choiceCount: only allowed with algorithm LEAST_REQUEST, got ROUND_ROBIN'],
      ],
      [
        { algorithm: 'LEAST_CONNECTIONS', choiceCount: 3 },
        ['spec.loadBalancer.choiceCount: only allowed with algorithm LEAST_REQUEST, got LEAST_CONNECTIONS'],
      ],
      [
        { algorithm: 'MAGLEV', ringSize: { min: 8 } },
        ['spec.loadBalancer.ringSize: only allowed with algorithm RING_HASH, got MAGLEV'],
      ],
      [
        { stickySession: { cookie: { name: 's' } }, tableSize: 251 },
        ['spec.loadBalancer.tableSize: only allowed with algorithm MAGLEV, got RING_HASH'],
      ],
      [
        { consistentHash: { header: 'x' } },
        ['spec.loadBalancer.consistentHash: only allowed with algorithm RING_HASH or MAGLEV, got ROUND_ROBIN'],
      ],
      [
        { algorithm: 'LEAST_REQUEST', stickySession: { cookie: { name: 's' } } },
        [
          'spec.loadBalancer.stickySession: only allowed with algorithm RING_HASH or MAGLEV (or none: RING_HASH), got LEAST_REQUEST',
        ],
      ],
      // An unknown algorithm is reported once, not again by every knob.
      [
        { algorithm: 'FASTEST', choiceCount: 3 },
        [
          'spec.loadBalancer.algorithm: expected one of ROUND_ROBIN|LEAST_REQUEST|RANDOM|RING_HASH|MAGLEV|LEAST_CONNECTIONS|LEAST_RESPONSE_TIME, got "FASTEST"',
        ],
      ],
    ]);
  });

  it('checks knob values', () => {
    expectErrors(lb, [
      [
        { algorithm: 'LEAST_REQUEST', choiceCount: 1 },
        ['spec.loadBalancer.choiceCount: expected an integer from 2 to 4294967295, got 1'],
      ],
      [
        { algorithm: 'RING_HASH', ringSize: { min: 4096, max: 2048 } },
        ['spec.loadBalancer.ringSize.min: expected at most max (2048), got 4096'],
      ],
      [
        { algorithm: 'RING_HASH', ringSize: { max: 9_000_000, size: 1 } },
        [
          'spec.loadBalancer.ringSize.size: unknown field, expected one of min|max',
          'spec.loadBalancer.ringSize.max: expected an integer from 1 to 8388608, got 9000000',
        ],
      ],
      [
        { algorithm: 'MAGLEV', tableSize: 65536 },
        ['spec.loadBalancer.tableSize: expected a prime number up to 5000011 such as 65537, got 65536'],
      ],
      [
        { algorithm: 'MAGLEV', tableSize: 5_000_101 },
        ['spec.loadBalancer.tableSize: expected a prime number up to 5000011 such as 65537, got 5000101'],
      ],
      [{ panicThreshold: 101 }, ['spec.loadBalancer.panicThreshold: expected a number from 0 to 100, got 101']],
      [{ panicThreshold: '50%' }, ['spec.loadBalancer.panicThreshold: expected a number from 0 to 100, got "50%"']],
      [{ localityLb: {} }, ['spec.loadBalancer.localityLb.preferLocalZone: required, expected true or false']],
      [
        { localityLb: { preferLocalZone: 'yes', failoverPriorities: ['zone'] } },
        [
          'spec.loadBalancer.localityLb.failoverPriorities: unknown field, expected one of preferLocalZone',
          'spec.loadBalancer.localityLb.preferLocalZone: expected true or false, got "yes"',
        ],
      ],
    ]);
  });

  it('checks sticky-session and hash cookies', () => {
    expectErrors(lb, [
      [
        { algorithm: 'RING_HASH', consistentHash: { header: 'x' }, stickySession: { cookie: { name: 's' } } },
        [
          'spec.loadBalancer: expected at most one of consistentHash|stickySession, got consistentHash and stickySession',
        ],
      ],
      [
        { stickySession: {} },
        ['spec.loadBalancer.stickySession.cookie: required, expected a mapping with a cookie name'],
      ],
      [
        { stickySession: { cookie: { ttl: '1h' } } },
        ['spec.loadBalancer.stickySession.cookie.name: required, expected a cookie name'],
      ],
      [
        { stickySession: { cookie: { name: 'my session', path: 'cart', ttl: '-1s' } } },
        [
          `spec.loadBalancer.stickySession.cookie.name: expected a cookie name (letters, digits and !#$%&'*+-.^_\`|~), got "my session"`,
          'spec.loadBalancer.stickySession.cookie.ttl: expected a duration such as "2s" or "500ms", got "-1s"',
          'spec.loadBalancer.stickySession.cookie.path: expected a path starting with "/", got "cart"',
        ],
      ],
      [
        { stickySession: { cookie: { name: 's', httpOnly: false } } },
        [
          'spec.loadBalancer.stickySession.cookie.httpOnly: expected true (proxies always mark the cookie they set HttpOnly), got false',
        ],
      ],
      [
        { algorithm: 'RING_HASH', consistentHash: { cookie: { name: 's', httpOnly: true } } },
        ['spec.loadBalancer.consistentHash.cookie.httpOnly: unknown field, expected one of name|ttl|path'],
      ],
    ]);
  });
});
