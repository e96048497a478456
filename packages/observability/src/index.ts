export * from './logger.js';
export * from './metrics.js';
export * from './span.js';
export * from './tracing.js';
