// The per-stream state of a filter that answers a request itself in its request-headers phase (a refusal, a preflight).
import type { LocalReply } from '../message/reply.ts';
import type { FilterStream, HttpFilter } from './filter.ts';

export class Answer implements HttpFilter {
  readonly #reply: LocalReply;

  constructor(reply: LocalReply) {
    this.#reply = reply;
  }

  onRequestHeaders(stream: FilterStream): 'stop' {
    stream.localReply(this.#reply);
    return 'stop';
  }

  onDestroy(): void {}
}
