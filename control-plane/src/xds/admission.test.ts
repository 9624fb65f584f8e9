// Admission of first configurations: the burst at once, then the rate, in arrival order; a stream that leaves
// gives up its place.
import { expect } from 'chai';
import { Admission } from './admission.ts';
import { InFlightBudget } from './in-flight.ts';

describe('Admission', () => {
  it('grants the burst at once, queues the rest in arrival order, and grants them as tokens refill', async () => {
    let now = 0;
    const admission = new Admission({ ratePerSecond: 1000, burst: 2 }, () => now);
    const order: number[] = [];
    for (let i = 0; i < 5; i++) admission.admit(() => order.push(i));
    expect(order).to.deep.equal([0, 1]);
    expect(admission.waiting).to.equal(3);
    // 2 ms later two more tokens are there: the timer grants the next two, then one more.
    now = 2;
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        now += 1;
        if (order.length < 5) return;
        clearInterval(check);
        resolve();
      }, 2);
    });
    expect(order).to.deep.equal([0, 1, 2, 3, 4]);
    admission.close();
  });

  it('a stream that ends while waiting gives up its place', () => {
    const admission = new Admission({ ratePerSecond: 1, burst: 1 }, () => 0);
    const granted: string[] = [];
    admission.admit(() => granted.push('a'));
    const cancel = admission.admit(() => granted.push('b'));
    expect(admission.waiting).to.equal(1);
    cancel();
    expect(admission.waiting).to.equal(0);
    admission.close();
    expect(granted).to.deep.equal(['a']);
  });

  it('a rate of 0 means no limit', () => {
    const admission = new Admission({ ratePerSecond: 0, burst: 1 });
    let granted = 0;
    for (let i = 0; i < 1000; i++) admission.admit(() => granted++);
    expect(granted).to.equal(1000);
    admission.close();
  });

  it('waits while the unanswered bytes are over budget, and admits in order as they are answered', async () => {
    const budget = new InFlightBudget({ budgetBytes: 100, ttlMs: 60_000 });
    const admission = new Admission({ ratePerSecond: 0, burst: 1 }, undefined, budget);
    const holds: ReturnType<InFlightBudget['hold']>[] = [];
    const granted: number[] = [];
    let next: (() => void) | undefined;
    for (let i = 0; i < 3; i++) {
      admission.admit(() => {
        granted.push(i);
        // Each admitted stream is sent a first configuration of 100 bytes: the budget is full again.
        holds.push(budget.hold(100));
        next?.();
      });
    }
    expect(granted).to.deep.equal([0]);
    expect(admission.waiting).to.equal(2);
    const grantedNext = (): Promise<void> =>
      new Promise((resolve) => {
        next = resolve;
      });
    let pending = grantedNext();
    budget.release(holds[0]!);
    await pending;
    expect(granted).to.deep.equal([0, 1]);
    pending = grantedNext();
    budget.release(holds[1]!);
    await pending;
    expect(granted).to.deep.equal([0, 1, 2]);
    admission.close();
  });

  it('an unanswered response stops counting after the TTL: a client that never answers cannot hold the gate', async () => {
    let now = 0;
    const budget = new InFlightBudget({ budgetBytes: 100, ttlMs: 100 }, () => now);
    const admission = new Admission({ ratePerSecond: 0, burst: 1 }, undefined, budget);
    budget.hold(500);
    expect(budget.open).to.equal(false);
    expect(budget.nextExpiryMs()).to.equal(100);
    const granted = new Promise<void>((resolve) => admission.admit(resolve));
    now = 100;
    expect(budget.bytes).to.equal(0);
    await granted;
    admission.close();
  });

  it('keeps its queue short when holds are answered, with no admission or scrape in between', () => {
    let now = 0;
    const budget = new InFlightBudget({ budgetBytes: 100, ttlMs: 1000 }, () => now);
    for (let i = 0; i < 10_000; i++) {
      const h = budget.hold(10);
      budget.release(h);
      now += 0.01;
    }
    expect(budget.queued).to.be.at.most(1);
    // An unanswered hold keeps at most one TTL of holds behind it.
    budget.hold(10);
    for (let i = 0; i < 10_000; i++) {
      budget.release(budget.hold(10));
      now += 1;
    }
    expect(budget.queued).to.be.at.most(1001);
    expect(budget.bytes).to.equal(0);
  });
});
