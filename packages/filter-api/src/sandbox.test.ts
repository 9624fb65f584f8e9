// The filter sandbox: TypeScript compiled with clear errors, hooks run with their results as data, state per stream,
// hashing that matches node:crypto, and a filter that throws, loops or reaches for the host contained.
import { createHash, createHmac } from 'node:crypto';
import { expect } from 'chai';
import { FilterSandbox, type RequestInput } from './sandbox.ts';

const request = (extra: Partial<RequestInput> = {}): RequestInput => ({
  id: 1,
  method: 'GET',
  path: '/x',
  query: '',
  authority: 'web',
  clientAddress: '10.0.0.1',
  headers: ['x-user', 'ada'],
  body: null,
  ...extra,
});

const AB = `
interface Config { header: string; percent: number }
const buckets = (value: string): number => {
  let h = 0;
  for (const c of value) h = (h * 31 + c.charCodeAt(0)) % 100;
  return h;
};
export default {
  onRequest(req: FilterRequest, ctx: FilterContext) {
    const { header, percent } = ctx.config as Config;
    const who = req.header(header);
    if (who === undefined) return { status: 400, body: 'who are you?' };
    const group = buckets(who) < percent ? 'b' : 'a';
    req.setHeader('x-ab-group', group);
    ctx.state.set('group', group);
    ctx.count('group_' + group);
    ctx.log('user ' + who + ' in group ' + group);
  },
  onResponse(res: FilterResponse, ctx: FilterContext) {
    res.setHeader('x-ab-group', String(ctx.state.get('group')));
  },
};
`;

describe('FilterSandbox', () => {
  it('runs a TypeScript filter: request headers set, a reply, state to the response hook, counters', () => {
    const f = FilterSandbox.compile('ab', AB, { header: 'x-user', percent: 50 });
    expect(f.hooks).to.deep.equal({ request: true, response: true, trailers: false, log: false });
    const out = f.request(request());
    if (!('ok' in out)) throw new Error(out.message);
    expect(out.ok.set.length).to.equal(1);
    const group = out.ok.set[0]?.[1];
    expect(group).to.be.oneOf(['a', 'b']);
    expect(out.ok.counts).to.deep.equal([`group_${group}`]);
    expect(out.ok.logs).to.deep.equal([`user ada in group ${group}`]);
    const res = f.response({ id: 1, status: 200, headers: [] });
    expect(res).to.deep.equal({ ok: { set: [['x-ab-group', group]], counts: [], logs: [] } });
    const refused = f.request(request({ id: 2, headers: [] }));
    expect(refused).to.deep.equal({
      ok: { set: [], counts: [], logs: [], reply: { status: 400, body: 'who are you?', headers: [] } },
    });
  });

  it("hashes as node:crypto does (an HMAC signature check's building blocks)", () => {
    const f = FilterSandbox.compile(
      'hash',
      `export default { onRequest(req: FilterRequest, ctx: FilterContext) {
        req.setHeader('x-sha', ctx.sha256Hex(req.body ?? ''));
        req.setHeader('x-hmac', ctx.hmacSha256Hex('k€y', req.body ?? ''));
      } };`,
      null,
    );
    const body = `{"amount": 12.5, "note": "café ${'x'.repeat(200)}"}`;
    const out = f.request(request({ body }));
    if (!('ok' in out)) throw new Error(out.message);
    expect(out.ok.set).to.deep.equal([
      ['x-sha', createHash('sha256').update(body).digest('hex')],
      ['x-hmac', createHmac('sha256', 'k€y').update(body).digest('hex')],
    ]);
  });

  it('says what is wrong with a module, with the line', () => {
    expect(() => FilterSandbox.compile('bad', 'const x: = 1;\nexport default {};', null)).to.throw(/filter bad: .*/);
    expect(() =>
      FilterSandbox.compile('bad', 'export default {\n  onRequest() {\n    return (;\n  }\n};', null),
    ).to.throw(/filter bad: Expression expected \(line 3\)/);
    expect(() => FilterSandbox.compile('none', 'const a = 1;', null)).to.throw('exactly one `export default`');
    expect(() => FilterSandbox.compile('imp', "import fs from 'node:fs';\nexport default {};", null)).to.throw(
      'imports are not available',
    );
    expect(() => FilterSandbox.compile('empty', 'export default {};', null)).to.throw(
      'the default export has no hook (onRequest, onResponse, onResponseTrailers or onLog)',
    );
    expect(() =>
      FilterSandbox.compile('loop', 'while (true) {}\nexport default { onRequest() {} };', null, 20),
    ).to.throw('top-level code ran past 20ms');
  });

  it('contains a hook that throws, loops or returns a promise; the sandbox keeps working', () => {
    const f = FilterSandbox.compile(
      'wild',
      `export default { onRequest(req: FilterRequest) {
        if (req.path === '/throw') throw new Error('boom');
        if (req.path === '/loop') for (;;) {}
        if (req.path === '/async') return Promise.resolve({ status: 200 });
      } };`,
      null,
      20,
    );
    expect(f.request(request({ path: '/throw' }))).to.deep.equal({ failed: 'error', message: 'boom' });
    expect(f.request(request({ path: '/loop' }))).to.deep.equal({ failed: 'timeout', message: 'ran past 20ms' });
    expect(f.request(request({ path: '/async' }))).to.deep.include({ failed: 'error' });
    expect(f.request(request({ path: '/fine' }))).to.deep.equal({ ok: { set: [], counts: [], logs: [] } });
  });

  it('gives the filter nothing of the host: no process, require, eval or timers', () => {
    const f = FilterSandbox.compile(
      'probe',
      `export default { onRequest(req: FilterRequest) {
        const seen: string[] = [];
        for (const name of ['process', 'require', 'setTimeout', 'Buffer', 'fetch', 'module'])
          if (typeof (globalThis as any)[name] !== 'undefined') seen.push(name);
        try { (0, eval)('1'); seen.push('eval'); } catch {}
        try { new Function('return 1')(); seen.push('Function'); } catch {}
        try { (req.header as any).constructor('return process')(); seen.push('escape'); } catch {}
        req.setHeader('x-seen', seen.join(','));
      } };`,
      null,
    );
    const out = f.request(request());
    if (!('ok' in out)) throw new Error(out.message);
    expect(out.ok.set).to.deep.equal([['x-seen', '']]);
  });

  it("holds against a hostile module: the host's Function, redefined slots, forged results, a thrown Proxy", () => {
    // The global object is the sandbox's own: its constructor chain has no code generation.
    const escaping = FilterSandbox.compile(
      'escape',
      `export default { onRequest(req: FilterRequest) {
        try { (globalThis as any).constructor.constructor('return process')(); req.setHeader('x-escaped', 'yes'); }
        catch { req.setHeader('x-escaped', 'no'); }
      } };`,
      null,
    );
    const out = escaping.request(request());
    expect(out).to.deep.equal({ ok: { set: [['x-escaped', 'no']], counts: [], logs: [] } });
    // The slots the host reads and writes cannot become accessors; the entry points cannot be replaced.
    expect(() =>
      FilterSandbox.compile(
        'slot',
        `Object.defineProperty(globalThis, '__in', { get() { for (;;) {} } });
        export default { onRequest() {} };`,
        null,
      ),
    ).to.throw(/filter slot: Cannot redefine property: __in/);
    expect(() =>
      FilterSandbox.compile(
        'entry',
        `(globalThis as any).__call = () => '{}';
export default { onRequest() {} };`,
        null,
      ),
    ).to.throw(/filter entry: Cannot assign to read only property '__call'/);
    // A forged JSON cannot change what the host reads.
    const forged = FilterSandbox.compile(
      'forge',
      `JSON.stringify = () => '{"ok":{"set":[[["content-length"],"5"]],"counts":[]}}';
      export default { onRequest(req: FilterRequest) { req.setHeader('x-a', '1'); } };`,
      null,
    );
    expect(forged.request(request())).to.deep.equal({ ok: { set: [['x-a', '1']], counts: [], logs: [] } });
    // A thrown Proxy is described inside the sandbox, within the budget.
    const proxy = FilterSandbox.compile(
      'proxy',
      `export default { onRequest() { throw new Proxy({}, { has() { for (;;) {} }, get() { for (;;) {} } }); } };`,
      null,
      20,
    );
    const started = performance.now();
    const failed = proxy.request(request());
    expect(performance.now() - started).to.be.below(500);
    expect(failed).to.have.property('failed');
  });

  it('the trailers hook sets and removes trailers; the log hook reads the entry and counts; both share the state', () => {
    const f = FilterSandbox.compile(
      'phases',
      `export default {
        onRequest(req: FilterRequest, ctx: FilterContext) { ctx.state.set('user', req.header('x-user')); },
        onResponseTrailers(t: FilterTrailers, ctx: FilterContext) {
          t.setHeader('grpc-message', undefined);
          t.setHeader('x-user', String(ctx.state.get('user')) + ':' + t.header('grpc-status'));
        },
        onLog(entry: FilterLogEntry, ctx: FilterContext) {
          ctx.count(entry.route + '.' + entry.status + '.' + entry.flags + '.' + String(entry.upstreamAddress));
          ctx.log('took ' + entry.durationMs + 'ms for ' + ctx.state.get('user'));
        },
      };`,
      null,
    );
    expect(f.hooks).to.deep.equal({ request: true, response: false, trailers: true, log: true });
    expect(f.request(request())).to.deep.include({ ok: { set: [], counts: [], logs: [] } });
    expect(f.trailers({ id: 1, headers: ['grpc-status', '0', 'grpc-message', 'fine'] })).to.deep.equal({
      ok: {
        set: [
          ['grpc-message', null],
          ['x-user', 'ada:0'],
        ],
        counts: [],
        logs: [],
      },
    });
    const log = {
      status: 503,
      grpcStatus: null,
      flags: 'UF',
      route: 'r1',
      cluster: 'c',
      attempts: 2,
      upstreamAddress: null,
      bytesReceived: 0,
      bytesSent: 19,
      reset: false,
      durationMs: 1.5,
    };
    expect(f.log({ id: 1, headers: [], log })).to.deep.equal({
      ok: { set: [], counts: ['r1.503.UF.null'], logs: ['took 1.5ms for ada'] },
    });
  });
});
