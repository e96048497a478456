export * from './fingerprint.js';
export * from './order-keys.js';
export { PackedOrderError } from './order-packed.js';
export * from './order-record.js';
export * from './order-store.js';
export * from './order-timeline.js';
