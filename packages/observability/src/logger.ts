import { type Logger, type LoggerOptions, pino } from 'pino';
import { traceIdsOfActiveSpan } from './trace-ids.js';

export type { Logger } from 'pino';

/** Every place a secret can sit in what we log (rule 7: secrets never reach logs). */
export const REDACT_PATHS = [
  'secretKey',
  '*.secretKey',
  'accessToken',
  '*.accessToken',
  '*.*.accessToken',
  'token',
  '*.token',
  'previousToken',
  '*.previousToken',
  'signature',
  '*.signature',
  'signatures',
  '*.signatures',
  'password',
  '*.password',
  'OWITHO_SECRET_KEY',
  'OWITHO_SIM_SECRET_KEY',
  'ADMIN_PASSWORD',
  '*.OWITHO_SECRET_KEY',
  '*.ADMIN_PASSWORD',
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface LoggerSettings {
  level: string;
  name: string;
  /** Pretty output for humans; callers pass `process.stdout.isTTY`, never NODE_ENV. */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

/** The one root logger of a process; everything else takes `.child({...})` of it. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // trace_id / span_id while a span is active (tracing on); {} otherwise
    mixin: traceIdsOfActiveSpan,
  };
  if (settings.pretty && !settings.destination) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/**
 * A logger that writes nothing: what a component started without a logger uses (the simulators
 * in a test), and what tests hand to code that wants one.
 */
export function silentLogger(name = 'silent'): Logger {
  return createLogger({ level: 'silent', name });
}
