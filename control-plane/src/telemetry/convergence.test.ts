// ConvergenceTracker: a sample per applied change once every push of its round is ACKed; NACK fails; streams that end
// are not waited for; changes reaching nobody yield nothing.
import { expect } from 'chai';
import { ConvergenceTracker } from './convergence.ts';

const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

function setup() {
  let now = 1000;
  const samples: number[] = [];
  const endpointSamples: number[] = [];
  const tracker = new ConvergenceTracker({
    now: () => now,
    onConverged: (s) => samples.push(s),
    onEndpointsConverged: (s) => endpointSamples.push(s),
    maxAgeMs: 60_000,
  });
  return { tracker, samples, endpointSamples, advance: (ms: number) => (now += ms) };
}

describe('ConvergenceTracker', () => {
  it('observes apply → last ACK of every proxy that received the change', () => {
    const { tracker, samples, advance } = setup();
    tracker.changed(true);
    advance(5);
    tracker.beginRound();
    expect(tracker.current?.startedAt).to.equal(1000);
    tracker.pushed('1', LDS);
    tracker.pushed('1', CDS);
    tracker.pushed('2', LDS);
    tracker.endRound();
    expect(tracker.current).to.equal(undefined);
    advance(10);
    tracker.ack('1', LDS);
    tracker.ack('1', CDS);
    expect(samples).to.deep.equal([]);
    advance(5);
    tracker.pushed('2', LDS); // a later push (outside the round): its answer answers the earlier one too
    advance(10);
    tracker.ack('2', LDS);
    expect(samples).to.deep.equal([0.03]);
    expect(tracker.waiting).to.equal(0);
  });

  it('gives one sample per applied change of a coalesced round, and an endpoint sample per registry change', () => {
    const { tracker, samples, endpointSamples, advance } = setup();
    tracker.changed(true);
    advance(10);
    tracker.changed(false);
    tracker.changed(true);
    tracker.beginRound();
    tracker.pushed('1', LDS);
    tracker.endRound();
    advance(20);
    tracker.ack('1', LDS);
    expect(samples).to.deep.equal([0.03, 0.02]);
    expect(endpointSamples).to.deep.equal([0.02]);
  });

  it('waits for the push flow control deferred, or for the client to be caught up', () => {
    const { tracker, samples, advance } = setup();
    tracker.pushed('1', LDS); // in flight before the change
    tracker.changed(true);
    tracker.beginRound();
    tracker.deferred('1', LDS);
    tracker.endRound();
    advance(10);
    tracker.ack('1', LDS); // the answer to the push from before: not yet
    expect(samples).to.deep.equal([]);
    tracker.pushed('1', LDS); // the deferred push, sent on that answer
    advance(10);
    tracker.ack('1', LDS);
    expect(samples).to.deep.equal([0.02]);

    tracker.pushed('2', LDS);
    tracker.changed(true);
    tracker.beginRound();
    tracker.deferred('2', LDS);
    tracker.endRound();
    advance(5);
    tracker.caughtUp('2', LDS); // answered, and nothing newer to send
    expect(samples).to.deep.equal([0.02, 0.005]);
  });

  it('fails the round on a NACK, stops waiting for closed streams', () => {
    const { tracker, samples } = setup();
    tracker.changed(true);
    tracker.beginRound();
    tracker.pushed('1', LDS);
    tracker.endRound();
    expect(tracker.waiting).to.equal(1);
    tracker.nack('1', LDS);
    expect(tracker.waiting).to.equal(0);
    expect(samples).to.deep.equal([]);

    tracker.changed(true);
    tracker.beginRound();
    tracker.pushed('1', LDS);
    tracker.pushed('2', LDS);
    tracker.endRound();
    tracker.ack('1', LDS);
    tracker.closed('2');
    expect(samples).to.have.length(1);
  });

  it('records nothing for changes that reach no proxy, or pushes outside a round', () => {
    const { tracker, samples, advance } = setup();
    tracker.pushed('1', LDS);
    tracker.beginRound(); // nothing pending
    expect(tracker.current).to.equal(undefined);
    tracker.endRound();
    tracker.changed(true);
    tracker.beginRound();
    tracker.endRound();
    expect(tracker.waiting).to.equal(0);
    tracker.changed(true);
    tracker.beginRound();
    tracker.pushed('1', LDS);
    tracker.endRound();
    advance(61_000);
    tracker.beginRound(); // expires rounds older than maxAgeMs
    tracker.endRound();
    expect(tracker.waiting).to.equal(0);
    expect(samples).to.deep.equal([]);
  });
});
