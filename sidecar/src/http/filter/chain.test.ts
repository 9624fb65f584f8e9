// One request's pass through a filter chain: continue, hold and resume, a continue from inside the phase, a reply,
// a throwing filter, and onDestroy exactly once per filter the stream created.
import { expect } from 'chai';
import { Stats } from '../../common/stats.ts';
import { FAULT_TYPE, type HttpFilterConfig } from '../../config/model.ts';
import type { LocalReply } from '../message/reply.ts';
import { RequestView } from '../message/request-view.ts';
import { FilterChain, FilterRun, type FilterSink } from './chain.ts';
import type { FilterStatus, FilterStream, HttpFilter } from './filter.ts';
import { HttpFilterRegistry } from './registry.ts';

type Step = (stream: FilterStream) => FilterStatus;

/** A chain of filters whose phases run the given steps, recording what happens. */
function run(steps: Step[]) {
  const events: string[] = [];
  const registry = new HttpFilterRegistry();
  let created = 0;
  registry.register(FAULT_TYPE, {
    prepare: () => ({
      create: (): HttpFilter => {
        const i = created++;
        return {
          onRequestHeaders: (stream) => {
            events.push(`headers ${i}`);
            return (steps[i] as Step)(stream);
          },
          onDestroy: () => events.push(`destroy ${i}`),
        };
      },
    }),
  });
  const filters: HttpFilterConfig[] = steps.map((_, i) => ({
    name: `f${i}`,
    typeName: FAULT_TYPE,
    config: { headers: [], maxActiveFaults: undefined },
  }));
  const chain = FilterChain.compile(filters, registry, { stats: new Stats(), statPrefix: 't' }) as FilterChain;
  const sink: FilterSink & { replies: LocalReply[] } = {
    replies: [],
    filtersDone: () => events.push('done'),
    filterReplied: (reply) => {
      sink.replies.push(reply);
      filterRun.destroy();
    },
    addFlag: (flag) => events.push(`flag ${flag}`),
  };
  const filterRun = new FilterRun(
    chain,
    new RequestView('GET', 'http', 'h', '/x', [], false),
    false,
    {
      forwarding: true,
      perFilterConfig: undefined,
      vhostPerFilterConfig: undefined,
      rateLimits: [],
      clientAddress: '127.0.0.1',
      connection: {
        remoteAddress: '127.0.0.1',
        localAddress: '127.0.0.1',
        localPort: 8080,
        peerPrincipal: undefined,
        serverName: undefined,
      },
      body: () => undefined,
      replaceBody: () => false,
      bodyStreams: false,
      bufferLimitBytes: 1024,
    },
    sink,
  );
  return { filterRun, events, sink };
}

describe('FilterRun', () => {
  it('runs every filter in order when all continue', () => {
    const { filterRun, events } = run([() => 'continue', () => 'continue']);
    expect(filterRun.start()).to.equal(true);
    filterRun.destroy();
    expect(events).to.deep.equal(['headers 0', 'headers 1', 'destroy 0', 'destroy 1']);
  });

  it('a filter that stops holds the rest until it continues; a second continue does nothing', () => {
    let held: FilterStream | undefined;
    const { filterRun, events } = run([
      (s) => {
        held = s;
        return 'stop';
      },
      () => 'continue',
    ]);
    expect(filterRun.start()).to.equal(false);
    expect(events).to.deep.equal(['headers 0']);
    held?.continueRequest();
    held?.continueRequest();
    expect(events).to.deep.equal(['headers 0', 'headers 1', 'done']);
  });

  it('a continue from inside the phase before returning stop goes on at once', () => {
    const { filterRun, events } = run([
      (s) => {
        s.continueRequest();
        return 'stop';
      },
      () => 'continue',
    ]);
    expect(filterRun.start()).to.equal(true);
    expect(events).to.deep.equal(['headers 0', 'headers 1']);
  });

  it('a reply ends the run: later filters never run, each created filter is destroyed once', () => {
    const { filterRun, events, sink } = run([
      (s) => {
        s.localReply({ status: 418, body: '', flags: '' });
        return 'stop';
      },
      () => 'continue',
    ]);
    expect(filterRun.start()).to.equal(false);
    filterRun.destroy();
    expect(sink.replies.map((r) => r.status)).to.deep.equal([418]);
    expect(events).to.deep.equal(['headers 0', 'destroy 0']);
  });

  it('a filter that throws fails its request with a 500, not the proxy', () => {
    const { filterRun, sink, events } = run([
      () => {
        throw new Error('boom');
      },
    ]);
    expect(filterRun.start()).to.equal(false);
    expect(sink.replies).to.deep.equal([{ status: 500, body: 'filter error', flags: '' }]);
    expect(events).to.deep.equal(['headers 0', 'destroy 0']);
  });
});
