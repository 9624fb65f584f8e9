// `trellisctl top`: per-service rps, success rate, p50/p99 and upstream split from sidecar metrics, read through the
// control plane (MeshStats); redrawn in place every interval on a terminal, one snapshot otherwise.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandContext } from './context.ts';
import { CliError } from './io.ts';
import { serviceStats } from './top/mesh-rates.ts';
import { type MeshSnapshot, snapshotFromResponse, TOP_METRIC_PREFIXES } from './top/mesh-snapshot.ts';
import { CLEAR_HOME, renderTop } from './top/top-render.ts';

export interface TopOptions {
  intervalMs: number;
  once: boolean;
  output: string;
  /** Ends the live view (Ctrl-C); default: SIGINT/SIGTERM of this process. */
  signal?: AbortSignal;
}

async function read(ctx: CommandContext): Promise<MeshSnapshot> {
  return snapshotFromResponse(await ctx.client().meshStats({ metric_prefixes: [...TOP_METRIC_PREFIXES] }));
}

/** One interval as JSON: the per-service figures plus the sidecars that could not be read. */
export function topJson(before: MeshSnapshot, after: MeshSnapshot): Record<string, unknown> {
  return {
    collectedAt: new Date(after.atMs).toISOString(),
    intervalSeconds: (after.atMs - before.atMs) / 1000,
    services: serviceStats(before, after),
    unreachable: after.proxies
      .filter((p) => p.error !== '')
      .map((p) => ({ nodeId: p.nodeId, service: p.service, error: p.error })),
  };
}

function processSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
    },
  };
}

export async function topCommand(ctx: CommandContext, opts: TopOptions): Promise<void> {
  if (opts.output !== 'table' && opts.output !== 'json')
    throw new CliError(`unknown output format "${opts.output}", expected table|json`);
  const live = !opts.once && opts.output === 'table' && ctx.io.stdout.isTTY === true;
  let before = await read(ctx);
  if (!live) {
    await sleep(opts.intervalMs);
    const after = await read(ctx);
    ctx.io.stdout.write(
      opts.output === 'json' ? `${JSON.stringify(topJson(before, after), null, 2)}\n` : renderTop(before, after),
    );
    return;
  }
  const own = opts.signal ? undefined : processSignal();
  const signal = opts.signal ?? (own as { signal: AbortSignal }).signal;
  try {
    while (!signal.aborted) {
      try {
        await sleep(opts.intervalMs, undefined, { signal });
      } catch {
        break;
      }
      const after = await read(ctx);
      ctx.io.stdout.write(CLEAR_HOME + renderTop(before, after));
      before = after;
    }
  } finally {
    own?.dispose();
  }
}
