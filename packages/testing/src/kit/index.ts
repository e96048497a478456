// The vitest-free half of the test kit (`@owc/testing/kit`): usable from tests, benchmarks
// and scripts alike. The main entry (`@owc/testing`) re-exports it next to the vitest fixtures.

export * from './deferred.js';
export * from './redis-server.js';
export * from './sample-notices.js';
export * from './sample-skus.js';
export * from './silent-logger.js';
export * from './tcp-switch.js';
export * from './wait-for.js';
export * from './wait-for-renewals.js';
