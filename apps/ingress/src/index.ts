export * from './app.js';
export * from './config.js';
export * from './ingress-deps.js';
export * from './ingress-metrics.js';
export * from './server.js';
