export * from './connection.js';
export * from './errors/script-result-error.js';
export * from './keys.js';
export * from './lease-hold.js';
export * from './lua-script.js';
export * from './redis-lease.js';
export * from './script-results.js';
export * from './scripts.js';
