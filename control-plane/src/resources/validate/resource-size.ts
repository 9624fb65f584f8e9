// The bound on one resource's encoded size: refused with the size, the limit and the part that takes the most room.
import { formatBytes, MAX_RESOURCE_BYTES } from '../../common/limits.ts';
import { memberSize, nestedSize, resourceEncodedSize, TooDeepError } from '../encoded-size.ts';
import { field, type Issues, isRecord } from './issues.ts';
import { keyPath } from './key-path.ts';

interface Part {
  path: string;
  value: unknown;
  bytes: number;
}

/** The children of a mapping or list with their encoded sizes. */
function children(part: Part): Part[] {
  const { path, value } = part;
  if (Array.isArray(value)) return value.map((v, i) => ({ path: field(path, i), value: v, bytes: nestedSize('', v) }));
  if (!isRecord(value)) return [];
  return Object.entries(value).map(([k, v]) => ({ path: keyPath(path, k), value: v, bytes: nestedSize(k, v) }));
}

function largest(parts: Part[]): Part | undefined {
  let best: Part | undefined;
  for (const p of parts) if (!best || p.bytes > best.bytes) best = p;
  return best;
}

/** Follows the largest member down while it holds more than half of its parent: where the bytes are. */
function largestPart(doc: Record<string, unknown>): Part | undefined {
  let part = largest(Object.entries(doc).map(([k, v]) => ({ path: k, value: v, bytes: memberSize(k, v) })));
  while (part) {
    const child = largest(children(part));
    if (!child || child.bytes * 2 <= part.bytes) break;
    part = child;
  }
  return part;
}

/** Reports a document above MAX_RESOURCE_BYTES (or nested too deep to measure); returns whether it is within. */
export function checkResourceSize(doc: Record<string, unknown>, issues: Issues): boolean {
  let bytes: number;
  try {
    bytes = resourceEncodedSize(doc);
  } catch (err) {
    if (!(err instanceof TooDeepError)) throw err;
    issues.add('', `the resource is ${err.message}`);
    return false;
  }
  if (bytes <= MAX_RESOURCE_BYTES) return true;
  const part = largestPart(doc);
  const where = part ? `; the largest part is ${part.path} (${formatBytes(part.bytes)})` : '';
  issues.add(
    '',
    `the resource encodes to ${bytes} bytes (${formatBytes(bytes)}), at most ${MAX_RESOURCE_BYTES} (${formatBytes(MAX_RESOURCE_BYTES)}) per resource${where}`,
  );
  return false;
}
