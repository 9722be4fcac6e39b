import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The fuzz and property suites are CPU-bound; two cores, two forks.
    pool: 'forks',
    maxWorkers: 2,
  },
});
