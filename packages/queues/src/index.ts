export * from './catalog.js';
export * from './consumer.js';
export * from './errors/invalid-job-error.js';
export * from './job-ids.js';
export * from './names.js';
export * from './producer.js';
export * from './validate.js';
