import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript source under the `@owc/source` condition,
// so tests and typecheck run without a build step.
const conditions = ['@owc/source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@owc/source'] } },
  // the runner of vitest's own files (globalSetup) resolves the workspace's source the same way
  environments: { __vitest__: { resolve: { conditions, externalConditions: ['@owc/source'] } } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // the test run's settings, read from the environment once and validated, for every worker
    globalSetup: ['./packages/testing/src/global-setup.ts'],
    reporters: ['default', './packages/testing/src/summary-reporter.ts'],
  },
});
