import type { Logger } from '@owc/observability';

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);

/**
 * A child logger that is only built when a line is written at an enabled level: a job that logs
 * nothing (the usual case at `warn`) costs no pino child (its bindings serialised, its redaction
 * set up).
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const built = (): Logger => {
    child ??= parent.child(bindings);
    return child;
  };
  const noop = () => undefined;
  return new Proxy(parent, {
    get(_target, property) {
      if (typeof property === 'string' && LEVELS.has(property) && !parent.isLevelEnabled(property))
        return noop;
      const logger = built();
      const value = Reflect.get(logger, property, logger);
      return typeof value === 'function' ? value.bind(logger) : value;
    },
  });
}
