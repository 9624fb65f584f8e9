// Filters written in TypeScript through a live handler on real sockets: the two shipped examples (an A/B assignment,
// an HMAC signature check) do their job, and a filter that throws or loops fails its own request only.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { type HttpFilterConfig, TYPESCRIPT_FILTER_PER_ROUTE_TYPE, TYPESCRIPT_FILTER_TYPE } from '../../config/model.ts';
import { route, send } from '../../http/test-harness.ts';
import { filterBench } from '../test-filter-proxy.ts';

const example = (file: string): string =>
  readFileSync(new URL(`../../../../examples/filters/${file}`, import.meta.url), 'utf8');

function tsFilter(name: string, source: string, config: unknown, timeoutMs = 50): HttpFilterConfig {
  return { name: `ts-${name}`, typeName: TYPESCRIPT_FILTER_TYPE, config: { name, source, config, timeoutMs } };
}

describe('TypeScript filters (trellis.filters.v1.TypeScriptFilter)', () => {
  const bench = filterBench();

  it('the A/B example: a stable group per user, to the app and back; no user, 400', async () => {
    const p = await bench.proxy([tsFilter('ab', example('ab-group.ts'), { header: 'x-user', percentB: 50 })]);
    const groups = new Set<string>();
    for (const user of ['ada', 'grace', 'alan', 'edsger', 'barbara', 'ken', 'dennis', 'linus']) {
      const first = await send(p.port, '/', { headers: { 'x-user': user } });
      const again = await send(p.port, '/', { headers: { 'x-user': user } });
      const group = first.headers['x-ab-group'] as string;
      expect(again.headers['x-ab-group']).to.equal(group);
      expect((JSON.parse(first.body) as { headers: Record<string, string> }).headers['x-ab-group']).to.equal(group);
      groups.add(group);
    }
    expect([...groups].sort()).to.deep.equal(['a', 'b']);
    const anonymous = await send(p.port, '/');
    expect(anonymous.status).to.equal(400);
    expect(anonymous.body).to.equal('missing x-user');
    const a = p.stats.counter('http.in.typescript_filter.ab.count.group_a');
    const b = p.stats.counter('http.in.typescript_filter.ab.count.group_b');
    expect(a + b).to.equal(16);
    expect(p.stats.counter('http.in.typescript_filter.ab.replies')).to.equal(1);
  });

  it('the HMAC example: a signed request goes through, a tampered or unsigned one is answered 401', async () => {
    const secret = 's3cret';
    const p = await bench.proxy([tsFilter('hmac', example('hmac-signature.ts'), { secret, maxSkewSeconds: 300 })]);
    const before = bench.hits;
    const body = '{"amount":42}';
    const timestamp = String(Math.floor(Date.now() / 1000));
    const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest('hex');
    const signature = sign(`POST\n/pay?x=1\n${timestamp}\n${body}`);
    const headers = { 'x-signature': signature, 'x-timestamp': timestamp, 'content-type': 'application/json' };
    const ok = await send(p.port, '/pay?x=1', { method: 'POST', headers, body });
    expect(ok.status).to.equal(200);
    expect(bench.hits).to.equal(before + 1);
    const tampered = await send(p.port, '/pay?x=1', { method: 'POST', headers, body: '{"amount":4200}' });
    expect(tampered.status).to.equal(401);
    expect(tampered.body).to.equal('bad signature');
    const unsigned = await send(p.port, '/pay?x=1', { method: 'POST', body });
    expect(unsigned.status).to.equal(401);
    expect(unsigned.headers['www-authenticate']).to.equal('HMAC-SHA256');
    expect(bench.hits).to.equal(before + 1);
    expect(p.stats.counter('http.in.typescript_filter.hmac.count.verified')).to.equal(1);
    expect(p.stats.counter('http.in.typescript_filter.hmac.count.bad_signature')).to.equal(1);
  });

  it('a filter that throws or loops fails only that request with a 500; the proxy serves on', async () => {
    const source = `export default { onRequest(req: FilterRequest) {
      if (req.path === '/throw') throw new Error('boom');
      if (req.path === '/loop') while (true) {}
    } };`;
    const p = await bench.proxy([tsFilter('wild', source, null, 20)]);
    expect((await send(p.port, '/throw')).status).to.equal(500);
    expect((await send(p.port, '/loop')).status).to.equal(500);
    expect((await send(p.port, '/fine')).status).to.equal(200);
    expect(p.stats.counter('http.in.typescript_filter.wild.errors')).to.equal(1);
    expect(p.stats.counter('http.in.typescript_filter.wild.timeouts')).to.equal(1);
  });

  it("a route's override gives the filter its own config, or turns it off there", async () => {
    const source = `export default { onRequest(req: FilterRequest, ctx: FilterContext) {
      const tier = (ctx.routeConfig as { tier?: string } | undefined)?.tier ?? (ctx.config as { tier: string }).tier;
      req.setHeader('x-tier', tier);
    } };`;
    const perRoute = (config: { disabled: boolean; config: unknown }) => ({
      'ts-tiers': { typeName: TYPESCRIPT_FILTER_PER_ROUTE_TYPE, config },
    });
    const p = await bench.proxy(
      [tsFilter('tiers', source, { tier: 'basic' })],
      [
        {
          ...route({ prefix: '/gold', cluster: 'app' }),
          perFilterConfig: perRoute({ disabled: false, config: { tier: 'gold' } }),
        },
        { ...route({ prefix: '/off', cluster: 'app' }), perFilterConfig: perRoute({ disabled: true, config: null }) },
        route({ prefix: '/', cluster: 'app' }),
      ],
    );
    const tier = async (path: string) =>
      (JSON.parse((await send(p.port, path)).body) as { headers: Record<string, string> }).headers['x-tier'];
    expect(await tier('/gold')).to.equal('gold');
    expect(await tier('/off')).to.equal(undefined);
    expect(await tier('/other')).to.equal('basic');
  });

  it('the log hook sees how each request ended, with the state its request hook left; a throwing one is counted', async () => {
    const source = `export default {
      onRequest(req: FilterRequest, ctx: FilterContext) { ctx.state.set('tag', req.header('x-tag') ?? 'none'); },
      onLog(entry: FilterLogEntry, ctx: FilterContext) {
        if (ctx.state.get('tag') === 'boom') throw new Error('cannot log');
        ctx.count(\`\${ctx.state.get('tag')}_\${entry.status}_\${entry.flags || 'ok'}_\${entry.attempts}\`);
        if (entry.upstreamAddress !== null && entry.durationMs >= 0 && entry.bytesSent > 0) ctx.count('measured');
      },
    };`;
    const p = await bench.proxy(
      [tsFilter('logs', source, null)],
      [route({ prefix: '/none', cluster: 'nowhere' }), route({ prefix: '/', cluster: 'app' })],
    );
    expect((await send(p.port, '/', { headers: { 'x-tag': 'web' } })).status).to.equal(200);
    expect((await send(p.port, '/none', { headers: { 'x-tag': 'web' } })).status).to.equal(503);
    expect((await send(p.port, '/')).status).to.equal(200);
    // The log hook runs after the response went out: its failure is counted, the request is unaffected.
    expect((await send(p.port, '/', { headers: { 'x-tag': 'boom' } })).status).to.equal(200);
    const count = (name: string) => p.stats.counter(`http.in.typescript_filter.logs.count.${name}`);
    expect(count('web_200_ok_1')).to.equal(1);
    // Counter names are lower-cased (NC → nc).
    expect(count('web_503_nc_0')).to.equal(1);
    expect(count('none_200_ok_1')).to.equal(1);
    expect(count('measured')).to.equal(2);
    expect(p.stats.counter('http.in.typescript_filter.logs.errors')).to.equal(1);
  });
});
