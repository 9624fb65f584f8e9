// The publish debounce: a synchronous burst is handed over once with its kinds merged; a burst that never goes
// quiet is still handed over (the maximum delay); flush and close.
import { expect } from 'chai';
import { Debouncer } from './debouncer.ts';

describe('Debouncer', () => {
  it('hands over a burst of 100 changes once, with every kind seen', async () => {
    const got = { kinds: [] as string[][] };
    let done: () => void = () => {};
    const once = new Promise<void>((resolve) => {
      done = resolve;
    });
    const d = new Debouncer<string>({ quietMs: 5, maxMs: 1000 }, (kinds) => {
      got.kinds.push([...kinds].sort());
      done();
    });
    for (let i = 0; i < 100; i++) d.change(i === 50 ? 'store' : 'registry');
    expect(d.pending).to.equal(true);
    await once;
    // The next change starts a new burst.
    d.change('registry');
    d.flush();
    expect(got.kinds).to.deep.equal([['registry', 'store'], ['registry']]);
    d.close();
  });

  it('hands over a burst that never goes quiet once the maximum delay is reached', async () => {
    let handed = 0;
    const d = new Debouncer<string>({ quietMs: 20, maxMs: 40 }, () => {
      handed += 1;
    });
    d.change('registry');
    // Changes keep coming every 5 ms (well inside the quiet period) until the burst is handed over.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (handed > 0) {
          clearInterval(timer);
          resolve();
          return;
        }
        d.change('registry');
      }, 5);
    });
    expect(handed).to.equal(1);
    d.close();
  });

  it('flush hands over at once; close drops what is pending and ignores later changes', () => {
    const got: string[][] = [];
    const d = new Debouncer<string>({ quietMs: 60_000, maxMs: 60_000 }, (kinds) => got.push([...kinds]));
    d.flush();
    expect(got).to.deep.equal([]);
    d.change('store');
    d.flush();
    expect(got).to.deep.equal([['store']]);
    d.change('store');
    d.close();
    d.change('registry');
    d.flush();
    expect(got).to.deep.equal([['store']]);
  });
});
