// Retry budgets (Envoy semantics) and buffered request bodies for retries, without sockets.
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { Stats } from '../common/stats.ts';
import { BufferBudget, bufferBody } from './message/replayable-body.ts';
import { clusterRequestEnded, clusterRequestStarted, RetryState } from './router/retry-state.ts';
import { compileRetryPolicy } from './routing/retry-policy.ts';
import { TestCluster, TestHost } from './test-clusters.ts';

describe('retry budget and replayable bodies', () => {
  it('admits retries while active retries < max(minRetryConcurrency, percent of active requests), counts overflow', () => {
    const base = { maxConnections: 9, maxPendingRequests: 9, maxRequests: 99, maxRetries: 0 };
    const cluster = new TestCluster('b', [new TestHost(1)], {
      circuitBreakers: { ...base, retryBudget: { budgetPercent: 50, minRetryConcurrency: 1 } },
    });
    const stats = new Stats();
    const policy = compileRetryPolicy({
      retryOn: ['5xx'],
      numRetries: 3,
      perTryTimeoutMs: 0,
      retriableStatusCodes: [],
    });
    for (let i = 0; i < 4; i++) clusterRequestStarted(cluster);
    const states = Array.from({ length: 4 }, () => new RetryState(policy, cluster, true, stats, 'idempotent'));
    const admitted = states.map((s) => s.retryResponse(503, undefined));
    expect(admitted).to.deep.equal([true, true, false, false]); // 50% of 4 = 2; max_retries 0 is ignored
    expect(states[2]?.overflowed).to.equal(true);
    states[0]?.release();
    expect(states[2]?.retryResponse(503, undefined)).to.equal(true);
    for (const s of states) s.release();
    for (let i = 0; i < 4; i++) clusterRequestEnded(cluster);
  });

  it('buffers a body within the bound, streams a larger one', async () => {
    const small = await new Promise<boolean>((resolve) =>
      bufferBody(Readable.from([Buffer.from('abc')]), undefined, (b) => resolve(b.replayable), 8, new BufferBudget(64)),
    );
    expect(small).to.equal(true);
    const big = await new Promise<string>((resolve) =>
      bufferBody(
        Readable.from([Buffer.alloc(6, 97), Buffer.alloc(6, 98)]),
        undefined,
        (b) => {
          if (b.replayable) return resolve('replayable');
          const chunks: Buffer[] = [];
          b.stream.on('data', (c: Buffer) => chunks.push(c));
          b.stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
        },
        8,
        new BufferBudget(64),
      ),
    );
    expect(big).to.equal('aaaaaabbbbbb');
  });
});
