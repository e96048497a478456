export * from './errors/index.js';
export * from './http-machine-gateway.js';
export * from './machine.schema.js';
export * from './machine-gateway.js';
export * from './vend.schema.js';
