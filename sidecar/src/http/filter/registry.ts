// HTTP filter types by their typed_config message type; the built-in ones are registered by filters/setup.ts.
import type { HttpFilterFactory } from './filter.ts';

export class HttpFilterRegistry {
  readonly #factories = new Map<string, HttpFilterFactory>();

  /** Registers (or replaces) the factory for a typed_config message type. */
  register(typeName: string, factory: HttpFilterFactory): void {
    this.#factories.set(typeName, factory);
  }

  get(typeName: string): HttpFilterFactory | undefined {
    return this.#factories.get(typeName);
  }

  types(): string[] {
    return [...this.#factories.keys()];
  }
}
