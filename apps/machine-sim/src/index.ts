export * from './config.js';
export * from './machine-sim.app.js';
export * from './machine-sim.js';
export * from './seed-file.js';
export * from './sim.schema.js';
export * from './start-machine-sim.js';
