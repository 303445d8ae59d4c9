import { defineConfig } from 'vitest/config';

// Unit and integration tests run in parallel forks; system tests (real brokers, pseudo-terminals,
// the vcan VM) bound their own waits and skip with one line when a package is missing, unless
// QOOD_SYSTEM_TESTS=required, where a missing package fails them instead. After each file the leak
// check fails it if it left sockets, servers, timers or child processes open (test/support/leak-check.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['node_modules', 'dist', 'test/fixtures/**'],
    setupFiles: ['./test/support/leak-check.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
