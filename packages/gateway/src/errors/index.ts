export * from './gateway-error.js';
export * from './gateway-protocol-error.js';
export * from './gateway-rejected-error.js';
export * from './gateway-timeout-error.js';
export * from './gateway-unavailable-error.js';
export * from './unknown-machine-error.js';
