export * from './machine-state-store.js';
