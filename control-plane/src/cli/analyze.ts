// `trellisctl analyze [-f FILE|DIR …] [--live] [-o table|json]`: the cross-resource checks (resources/analyze.ts) over
// files, over the control plane's stored state (--live), or over the stored state with the files applied on top.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { analyze, type ConnectedProxy, type Finding } from '../analyze/analyze.ts';
import { messageToResource } from '../api/messages.ts';
import { parseDocuments } from '../resources/parse.ts';
import { keyOf, type Resource } from '../resources/types.ts';
import { validateBatch } from '../resources/validate/batch.ts';
import type { CommandContext } from './context.ts';
import { CliError, readAll } from './io.ts';

const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';

export interface AnalyzeOptions {
  files: readonly string[];
  live: boolean;
  output: string;
}

/** The files a -f names: the file itself, or every .yaml, .yml and .json file under a directory (sorted). */
async function filesOf(target: string): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch (err) {
    throw new CliError(`cannot read ${target}: ${(err as Error).message}`);
  }
  if (!info.isDirectory()) return [target];
  const names = await readdir(target, { recursive: true });
  return names
    .filter((n) => /\.(ya?ml|json)$/.test(n))
    .sort()
    .map((n) => path.join(target, n));
}

/** The resources of every file, parsed and validated as apply does (its errors, with the file, stop the command). */
async function resourcesOf(ctx: CommandContext, targets: readonly string[]): Promise<Resource[]> {
  const out: Resource[] = [];
  const errors: string[] = [];
  for (const target of targets) {
    const files = target === '-' ? ['-'] : await filesOf(target);
    for (const file of files) {
      const text = file === '-' ? await readAll(ctx.io.stdin) : await readFile(file, 'utf8');
      const source = file === '-' ? 'stdin' : file;
      const parsed = parseDocuments(text);
      const batch = validateBatch(parsed.documents.map((d) => ({ where: `document ${d.index}`, value: d.value })));
      errors.push(...[...parsed.errors, ...batch.errors].map((e) => `${source}: ${e}`));
      out.push(...batch.resources);
    }
  }
  if (errors.length > 0) throw new CliError(errors.join('\n'));
  return out;
}

function formatTable(findings: readonly Finding[], count: number): string {
  if (findings.length === 0) return `No problems found in ${count} resources.\n`;
  const lines = findings.map(
    (f) => `${f.code}  ${f.severity.padEnd(7)}  ${f.resources.join(', ')}\n  ${f.message}\n  fix: ${f.hint}\n`,
  );
  const errors = findings.filter((f) => f.severity === 'error').length;
  return `${lines.join('\n')}\n${errors} error(s), ${findings.length - errors} warning(s) in ${count} resources.\n`;
}

export async function analyzeCommand(ctx: CommandContext, opts: AnalyzeOptions): Promise<void> {
  if (opts.output !== 'table' && opts.output !== 'json')
    throw new CliError(`unknown output format "${opts.output}", expected table|json`);
  if (opts.files.length === 0 && !opts.live) throw new CliError('give -f FILE|DIR (repeatable), --live, or both');
  const byKey = new Map<string, Resource>();
  const proxies: ConnectedProxy[] = [];
  if (opts.live) {
    for (const p of (await ctx.client().proxyStatus()).proxies)
      proxies.push({
        nodeId: p.node_id,
        clientKind: p.client_kind,
        identity: p.identity,
        listeners: p.types.find((t) => t.type_url === LISTENER_TYPE)?.subscribed ?? [],
      });
    for (const m of (await ctx.client().listAll()).resources) {
      const r = messageToResource(m);
      byKey.set(keyOf({ kind: r.kind, name: r.metadata.name }), r);
    }
  }
  // The files as they would be applied: each replaces the stored resource of its kind and name.
  for (const r of await resourcesOf(ctx, opts.files)) byKey.set(keyOf({ kind: r.kind, name: r.metadata.name }), r);
  const findings = analyze([...byKey.values()], proxies);
  ctx.io.stdout.write(
    opts.output === 'json'
      ? `${JSON.stringify({ resources: byKey.size, findings }, null, 2)}\n`
      : formatTable(findings, byKey.size),
  );
  const errors = findings.filter((f) => f.severity === 'error').length;
  if (errors > 0) throw new CliError(`${errors} error(s) found: apply would refuse this state`);
}
