import { type Logger, pino } from 'pino';

/** A logger that writes nothing, for code under test that wants one. */
export function silentLogger(name = 'test'): Logger {
  return pino({ name, level: 'silent' });
}
