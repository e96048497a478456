export * from './errors/token-cooling-down-error.js';
export * from './errors/token-quota-exceeded-error.js';
export * from './errors/token-unavailable-error.js';
export * from './fetch-backoff.js';
export * from './fetch-health.js';
export * from './signature-failure-watch.js';
export * from './token-keeper.js';
export * from './token-metrics.js';
