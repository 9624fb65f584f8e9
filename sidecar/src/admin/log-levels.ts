// Runtime log levels (admin /logging): the root logger and every child created from it (tracked through pino's
// onChild hook), settable all at once or per `component` binding.
import type { Logger } from 'pino';

/** pino's levels, plus Envoy's names for the same (warning, critical, off). */
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const ALIASES: Readonly<Record<string, (typeof LEVELS)[number]>> = {
  warning: 'warn',
  critical: 'fatal',
  off: 'silent',
};

export type LogLevel = (typeof LEVELS)[number];

/** A level name (pino's or Envoy's alias), or undefined when it is none. */
export function parseLevel(name: string): LogLevel | undefined {
  const lower = name.toLowerCase();
  if ((LEVELS as readonly string[]).includes(lower)) return lower as LogLevel;
  return ALIASES[lower];
}

export const ALLOWED_LEVELS = `${LEVELS.join(', ')} (or Envoy's warning, critical, off)`;

export class LogLevels {
  private readonly root: Logger;
  private readonly children = new Set<WeakRef<Logger>>();

  constructor(root: Logger) {
    this.root = root;
    const previous = root.onChild;
    root.onChild = (child: Logger) => {
      previous?.(child);
      this.children.add(new WeakRef(child));
    };
  }

  /** The root's level and each component's (children bound with `component`), sorted by component. */
  levels(): { root: string; components: [string, string][] } {
    const components = new Map<string, string>();
    for (const child of this.live()) {
      const name = componentOf(child);
      if (name !== undefined && !components.has(name)) components.set(name, child.level);
    }
    return { root: this.root.level, components: [...components].sort((a, b) => (a[0] < b[0] ? -1 : 1)) };
  }

  /** Sets the root and every child logger. */
  setAll(level: LogLevel): void {
    this.root.level = level;
    for (const child of this.live()) child.level = level;
  }

  /** Sets the children bound to `component` (and theirs); false when no logger has that component. */
  setComponent(component: string, level: LogLevel): boolean {
    let found = false;
    for (const child of this.live()) {
      if (componentOf(child) !== component) continue;
      child.level = level;
      found = true;
    }
    return found;
  }

  private *live(): Generator<Logger> {
    for (const ref of this.children) {
      const child = ref.deref();
      if (child === undefined) this.children.delete(ref);
      else yield child;
    }
  }
}

function componentOf(logger: Logger): string | undefined {
  const c = logger.bindings()['component'];
  return typeof c === 'string' ? c : undefined;
}
