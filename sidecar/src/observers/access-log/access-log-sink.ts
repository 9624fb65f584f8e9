// One configured access log output (HTTP or TCP): compiled format, shared writer, sampling and status filter.

import { compileFormat, type LogFormatter } from '../../config/access-log-format.ts';
import type { LogSource } from '../../config/access-log-source.ts';
import type { AccessLogConfig } from '../../config/model.ts';
import type { LineSink, LogWriters } from './log-writers.ts';

export interface AccessLogSink {
  readonly format: LogFormatter;
  readonly out: LineSink;
  /** Probability 0-1 (runtime_filter.percent_sampled / 100). */
  readonly sampled: number;
  readonly statusFilter: AccessLogConfig['statusFilter'];
}

/** At most 31 sinks per listener (a sampling bit mask); more is a config error. */
export const MAX_SINKS = 31;

export function compileSinks(
  configs: readonly AccessLogConfig[],
  kind: 'http' | 'tcp',
  writers: LogWriters,
  field: string,
): AccessLogSink[] {
  if (configs.length > MAX_SINKS) throw new Error(`${field}: at most ${MAX_SINKS} access logs per listener`);
  return configs.map((c, i) => ({
    format: compileFormat(c, kind, `${field}[${i}]`),
    out: writers.get(c.path),
    sampled: c.sampledPercent / 100,
    statusFilter: c.statusFilter,
  }));
}

/** One draw per sink: bit i set when sink i logs this request (always at 100%, never at 0%). */
export function sampleSinks(sinks: readonly AccessLogSink[], random: () => number = Math.random): number {
  let mask = 0;
  for (let i = 0; i < sinks.length; i++) {
    const p = (sinks[i] as AccessLogSink).sampled;
    if (p >= 1 || (p > 0 && random() < p)) mask |= 1 << i;
  }
  return mask;
}

/** Envoy's status_code_filter comparison. */
export function statusPasses(filter: AccessLogConfig['statusFilter'], status: number): boolean {
  if (filter === undefined) return true;
  if (filter.op === 'EQ') return status === filter.value;
  if (filter.op === 'GE') return status >= filter.value;
  return status <= filter.value;
}

export function writeLine(sink: AccessLogSink, source: LogSource, status: number): void {
  if (statusPasses(sink.statusFilter, status)) sink.out.write(sink.format(source));
}
