export * from './kit/index.js';
export * from './redis-cluster.js';
export * from './redis-fixture.js';
