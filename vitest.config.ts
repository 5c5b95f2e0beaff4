import { defineConfig } from 'vitest/config';

// Test files say what they need by their suffix, so each suite can be run alone
// and given its own time budget by scripts/check.mjs:
//   *.test.ts         pure unit tests, no processes, no network
//   *.int.test.ts     local processes on 127.0.0.1 (node processes, redis-cli, chromium)
//   *.docker.test.ts  a Docker engine (containers, iptables inside their namespaces)
//   *.chaos.test.ts   whole experiments against a containerised cluster
const heavy = ['**/*.int.test.ts', '**/*.docker.test.ts', '**/*.chaos.test.ts'];
const ignored = ['**/node_modules/**', '**/dist/**', '**/runs/**'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{node,harness,checks,test}/**/*.test.ts'],
          exclude: [...ignored, ...heavy],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'int',
          include: ['{node,harness,checks,test}/**/*.int.test.ts'],
          exclude: ignored,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'docker',
          include: ['{node,harness,checks,test}/**/*.docker.test.ts'],
          exclude: ignored,
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['{node,harness,checks,test}/**/*.chaos.test.ts'],
          exclude: ignored,
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
