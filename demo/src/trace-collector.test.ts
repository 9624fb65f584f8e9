// The demo's trace collector: services in call order from parent links, even when process clocks disagree.
import { expect } from 'chai';
import type { ReceivedSpan } from './otlp-traces.ts';
import { TraceCollector } from './trace-collector.ts';

function span(spanId: string, parentSpanId: string, serviceName: string, startMs: number): ReceivedSpan {
  const start = BigInt(startMs) * 1_000_000n;
  return {
    traceId: 't1',
    spanId,
    parentSpanId,
    name: 'x',
    kind: 2,
    attributes: {},
    statusCode: 0,
    statusMessage: '',
    serviceName,
    resource: {},
    startNanos: start,
    endNanos: start + 1_000_000n,
  };
}

describe('demo trace collector', () => {
  it('orders a trace by call depth, not by start times from different processes', () => {
    const c = new TraceCollector();
    // payments' clock runs 5 ms behind: its span starts "before" the orders span that called it. Children may also
    // arrive before their parents.
    c.record([span('d', 'c', 'payments', 100), span('c', 'b', 'orders', 103)]);
    c.record([span('a', '', 'loadgen', 101), span('b', 'a', 'web', 102), span('b2', 'b', 'web', 102)]);
    const widest = c.stats().widest;
    expect(widest?.services).to.deep.equal(['loadgen', 'web', 'orders', 'payments']);
    expect(widest?.spans).to.equal(5);
  });
});
