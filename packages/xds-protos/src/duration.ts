// google.protobuf.Duration helpers: milliseconds to {seconds, nanos} and back.
export interface DurationObject {
  seconds: number;
  nanos: number;
}

/** A Duration object for a number of milliseconds. */
export function duration(ms: number): DurationObject {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Milliseconds in a decoded Duration (seconds may arrive as a Long-like string or number). */
export function durationToMs(
  d: { seconds?: number | string | { toString(): string } | null; nanos?: number | null } | null | undefined,
): number {
  if (!d) return 0;
  return Number(d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6;
}
