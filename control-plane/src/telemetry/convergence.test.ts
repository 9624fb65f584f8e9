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
    tracker.expect('1', LDS, '4');
    tracker.expect('1', CDS, '3');
    tracker.expect('2', LDS, '7');
    tracker.endRound();
    expect(tracker.current).to.equal(undefined);
    advance(10);
    tracker.ack('1', LDS, '4');
    tracker.ack('1', CDS, '3');
    expect(samples).to.deep.equal([]);
    advance(15);
    tracker.ack('2', LDS, '8'); // a later nonce answers an earlier push too
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
    tracker.expect('1', LDS, '1');
    tracker.endRound();
    advance(20);
    tracker.ack('1', LDS, '1');
    expect(samples).to.deep.equal([0.03, 0.02]);
    expect(endpointSamples).to.deep.equal([0.02]);
  });

  it('ignores ACKs of older nonces, fails the round on a NACK, stops waiting for closed streams', () => {
    const { tracker, samples } = setup();
    tracker.changed(true);
    tracker.beginRound();
    tracker.expect('1', LDS, '5');
    tracker.endRound();
    tracker.ack('1', LDS, '4');
    expect(tracker.waiting).to.equal(1);
    tracker.nack('1', LDS, '5');
    expect(tracker.waiting).to.equal(0);
    expect(samples).to.deep.equal([]);

    tracker.changed(true);
    tracker.beginRound();
    tracker.expect('1', LDS, '6');
    tracker.expect('2', LDS, '2');
    tracker.endRound();
    tracker.ack('1', LDS, '6');
    tracker.closed('2');
    expect(samples).to.have.length(1);
  });

  it('records nothing for changes that reach no proxy, or pushes outside a round', () => {
    const { tracker, samples, advance } = setup();
    tracker.expect('1', LDS, '1');
    tracker.beginRound(); // nothing pending
    expect(tracker.current).to.equal(undefined);
    tracker.endRound();
    tracker.changed(true);
    tracker.beginRound();
    tracker.endRound();
    expect(tracker.waiting).to.equal(0);
    tracker.changed(true);
    tracker.beginRound();
    tracker.expect('1', LDS, '2');
    tracker.endRound();
    advance(61_000);
    tracker.beginRound(); // expires rounds older than maxAgeMs
    tracker.endRound();
    expect(tracker.waiting).to.equal(0);
    expect(samples).to.deep.equal([]);
  });
});
