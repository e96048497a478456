export * from './connection.js';
export * from './keys.js';
