export * from './errors/token-quota-exceeded-error.js';
export * from './errors/token-unavailable-error.js';
export * from './token-keeper.js';
