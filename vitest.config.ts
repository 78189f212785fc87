import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/helpers/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: test files that start PGlite or train models compete for them.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
