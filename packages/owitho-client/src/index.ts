export * from './call-outcome.js';
export * from './errors/owitho-call-error.js';
export * from './owitho-client.js';
