export * from './config.js';
export * from './errors/no-token-error.js';
export * from './held-requests.js';
export * from './order-generator.js';
export * from './owitho-sim.js';
export * from './sim.schema.js';
export * from './start-owitho-sim.js';
export * from './token-authority.js';
