// The vitest-free half of the test kit: usable from tests, benchmarks and scripts alike.
export * from './wait-for.js';
