// Text an xDS client chooses (type URLs, NACK messages), cut to a bounded length before it is logged or kept.
import { MAX_CLIENT_TEXT_CHARS } from '../common/limits.ts';

export function clip(text: string): string {
  if (text.length <= MAX_CLIENT_TEXT_CHARS) return text;
  return `${text.slice(0, MAX_CLIENT_TEXT_CHARS)}... (${text.length} characters)`;
}
