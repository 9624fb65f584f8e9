// Operator API limits over real gRPC on 127.0.0.1: label and resource-size bounds on Apply, List pagination
// (AIP-158, bounded by count and bytes) and trellisctl following pages, the request-size limit.
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { pino } from 'pino';
import { AdminClient } from '../control-plane/src/api/client.ts';
import type { ResourceMessage } from '../control-plane/src/api/messages.ts';
import { type ApiServer, startApiServer } from '../control-plane/src/api/server.ts';
import { runCli } from '../control-plane/src/cli/main.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../control-plane/src/common/limits.ts';
import { toStruct } from '../control-plane/src/common/struct.ts';
import type { Resource, ServiceResource } from '../control-plane/src/resources/types.ts';
import { MemoryStore } from '../control-plane/src/store/memory-store.ts';
import type { ProxyTracker } from '../control-plane/src/xds/proxy-status.ts';

const noProxies: ProxyTracker = { list: () => [], onEvent: () => () => undefined };

function service(name: string, labels: Record<string, string> = {}): ServiceResource {
  return {
    apiVersion: 'trellis.dev/v1',
    kind: 'Service',
    metadata: { name, labels },
    spec: { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] },
  };
}

function toMessage(r: Resource): ResourceMessage {
  return {
    api_version: r.apiVersion,
    kind: r.kind,
    metadata: { name: r.metadata.name, labels: r.metadata.labels ?? {}, generation: 0, created_at: '', updated_at: '' },
    spec: toStruct(r.spec as unknown as Record<string, unknown>),
  };
}

/** svc-0000, svc-0001, …: names that sort in creation order. */
const names = (n: number) => Array.from({ length: n }, (_, i) => `svc-${String(i).padStart(4, '0')}`);

async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('operator API limits', () => {
  let store: MemoryStore;
  let server: ApiServer;
  let client: AdminClient;
  let address: string;

  beforeEach(async () => {
    store = new MemoryStore();
    await store.open();
    server = await startApiServer({
      store,
      proxies: noProxies,
      logger: pino({ level: 'silent' }),
      host: '127.0.0.1',
      port: 0,
    });
    address = `127.0.0.1:${server.port}`;
    client = new AdminClient(address);
  });

  afterEach(async () => {
    client.close();
    await server.close();
    await store.close();
  });

  /** Runs trellisctl in-process against the test server. */
  async function ctl(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--api', address, ...args], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: Readable.from([stdin]),
      env: {},
    });
    return { code, stdout, stderr };
  }

  describe('labels and resource size on Apply', () => {
    it('refuses a 3.9 MB label, naming the field, the size and the limit; stores nothing', async () => {
      const big = service('orders', { big: 'x'.repeat(3_900_000) });
      const err = await failure(client.apply({ resources: [toMessage(big)], dry_run: false }));
      expect(err.code).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(err.details).to.equal(
        'document 1 (Service orders): the resource encodes to 3900133 bytes (3.7 MiB), at most 262144 (256 KiB) per resource; the largest part is metadata.labels.big (3.7 MiB)',
      );
      expect(store.list()).to.deep.equal([]);
    });

    it('refuses label keys and values Kubernetes would refuse, naming each', async () => {
      const bad = service('orders', { version: 'v'.repeat(64), 'team/x/y': 'a' });
      const err = await failure(client.apply({ resources: [toMessage(bad)], dry_run: false }));
      expect(err.code).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(err.details.split('\n')).to.deep.equal([
        `document 1 (Service orders): metadata.labels.version: expected a label value of at most 63 characters (letters, digits, "-", "_" or ".", starting and ending with a letter or digit), or empty, got "${'v'.repeat(57)}..." (64 characters)`,
        'document 1 (Service orders): metadata.labels["team/x/y"]: expected a label key with at most one "/", got "team/x/y"',
      ]);
    });

    it('lists at most 20 errors in a refusal, then how many more', async () => {
      const labels = Object.fromEntries(names(30).map((n) => [n, '-bad-']));
      const err = await failure(client.apply({ resources: [toMessage(service('orders', labels))], dry_run: false }));
      const lines = err.details.split('\n');
      expect(lines).to.have.length(21);
      expect(lines[20]).to.equal('(and 10 more errors)');
    });

    it('refuses an Apply request above 4 MiB with RESOURCE_EXHAUSTED; trellisctl says so before sending', async () => {
      // 17 Routes of 250 KB each (a long rule name): each within the resource bound, 4.1 MiB together.
      const filler = (i: number): Resource => ({
        apiVersion: 'trellis.dev/v1',
        kind: 'Route',
        metadata: { name: `r-${i}` },
        spec: { hosts: ['orders'], http: [{ name: 'n'.repeat(250_000), route: [{ service: 'orders' }] }] },
      });
      const batch = Array.from({ length: 17 }, (_, i) => filler(i));
      const err = await failure(client.apply({ resources: batch.map(toMessage), dry_run: false }));
      expect(err.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
      expect(err.details).to.match(/larger than max \(\d+ vs\.? 4194304\)/, err.details);
      const yaml = batch.map((r) => JSON.stringify(r)).join('\n---\n');
      expect(await ctl(['apply', '-f', '-'], yaml)).to.deep.equal({
        code: 1,
        stdout: '',
        stderr:
          'error: stdin: the batch encodes to 4.1 MiB, the operator API takes at most 4 MiB per apply: split it into several files\n',
      });
      expect(store.list()).to.deep.equal([]);
    });
  });

  describe('List pagination', () => {
    beforeEach(async () => {
      await store.commit({ put: names(250).map((n) => service(n)), delete: [] });
    });

    it('pages by page_size with next_page_token, in name order, the last page without a token', async () => {
      const seen: string[] = [];
      let token = '';
      const sizes: number[] = [];
      do {
        const page = await client.list('svc', { page_size: 100, page_token: token });
        sizes.push(page.resources.length);
        seen.push(...page.resources.map((r) => r.metadata?.name ?? ''));
        expect(page.revision).to.equal(1);
        expect(page.next_page_token).to.be.a('string');
        token = page.next_page_token;
      } while (token !== '' && sizes.length < 10);
      expect(sizes).to.deep.equal([100, 100, 50]);
      expect(seen).to.deep.equal(names(250));
    });

    it('defaults to 100 and lowers page sizes above 1000 to 1000', async () => {
      expect((await client.list('svc')).resources).to.have.length(DEFAULT_PAGE_SIZE);
      await store.commit({ put: names(1100).map((n) => service(n)), delete: [] });
      const page = await client.list('', { page_size: 5000 });
      expect(page.resources).to.have.length(MAX_PAGE_SIZE);
      expect(page.next_page_token).to.not.equal('');
      expect((await client.listAll('svc')).resources).to.have.length(1100);
    });

    it('refuses a negative page_size, a forged token and a token of another listing', async () => {
      const negative = await failure(client.list('svc', { page_size: -1 }));
      expect([negative.code, negative.details]).to.deep.equal([
        grpc.status.INVALID_ARGUMENT,
        'page_size: expected an integer >= 0, got -1',
      ]);
      const forged = await failure(client.list('svc', { page_token: 'not-a-token' }));
      expect([forged.code, forged.details]).to.deep.equal([
        grpc.status.INVALID_ARGUMENT,
        'page_token: not a next_page_token from a List reply of this server',
      ]);
      const { next_page_token } = await client.list('svc', { page_size: 10 });
      const other = await failure(client.list('routes', { page_token: next_page_token }));
      expect([other.code, other.details]).to.deep.equal([
        grpc.status.INVALID_ARGUMENT,
        'page_token: continues a List of kind Service, this request lists kind Route',
      ]);
    });

    it('shows every resource that exists throughout a listing exactly once, whatever changes between pages', async () => {
      const first = await client.list('svc', { page_size: 100 });
      // Between pages: one resource of the first page goes, two are added before and after the cursor.
      await store.commit({
        put: [service('svc-0000a'), service('svc-0200a')],
        delete: [{ kind: 'Service', name: 'svc-0001' }],
      });
      const rest = await client.listAll('svc');
      const second = await client.list('svc', { page_size: 1000, page_token: first.next_page_token });
      const listed = [...first.resources, ...second.resources].map((r) => r.metadata?.name ?? '');
      expect(new Set(listed).size).to.equal(listed.length);
      for (const n of names(250)) if (n !== 'svc-0001') expect(listed).to.include(n);
      expect(listed).to.include('svc-0200a');
      expect(rest.revision).to.equal(2);
    });
  });

  describe('resources stored before the bounds (larger than a gRPC message together)', () => {
    beforeEach(async () => {
      // Written past validation, as an older control plane accepted them: 2.5 MB labels on two services.
      await store.commit({
        put: [service('a', { big: 'a'.repeat(2_500_000) }), service('b', { big: 'b'.repeat(2_500_000) })],
        delete: [],
      });
    });

    it('List sends them one page each (a page stops before 3 MiB)', async () => {
      const first = await client.list('svc');
      expect(first.resources.map((r) => r.metadata?.name)).to.deep.equal(['a']);
      const second = await client.list('svc', { page_token: first.next_page_token });
      expect(second.resources.map((r) => r.metadata?.name)).to.deep.equal(['b']);
      expect(second.next_page_token).to.equal('');
    });

    it('trellisctl get services follows the pages and shows both', async () => {
      const res = await ctl(['get', 'services']);
      expect(res.stderr).to.equal('');
      expect(res.code).to.equal(0);
      expect(res.stdout.split('\n').map((l) => l.split(' ')[0])).to.deep.equal(['NAME', 'a', 'b', '']);
    });
  });
});
