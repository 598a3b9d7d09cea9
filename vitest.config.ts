import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Temporal dev server and one FerretDB for the whole run; each test file gets its own
    // database and task queue on them.
    globalSetup: ['test/setup/global-stack.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    testTimeout: 120_000,
    hookTimeout: 600_000,
    teardownTimeout: 60_000,
  },
});
