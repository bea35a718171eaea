import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

const adapter = (name: string) =>
  fileURLToPath(new URL(`./packages/server/src/adapters/${name}.ts`, import.meta.url))

/** Tests always run against source, never built output. Subpath exports first: the first match wins. */
const alias = {
  '@consentry/server/express': adapter('express'),
  '@consentry/server/fastify': adapter('fastify'),
  '@consentry/server/hono': adapter('hono'),
  '@consentry/server/next': adapter('next'),
  '@consentry/core': src('core'),
  '@consentry/server': src('server'),
  '@consentry/client': src('client'),
  '@consentry/store-postgres': src('store-postgres'),
}

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      ...['core', 'server', 'client', 'store-postgres', 'cli'].map((name) => ({
        extends: true as const,
        test: { name: `@consentry/${name}`, include: [`packages/${name}/test/**/*.test.ts`] },
      })),
      {
        extends: true as const,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: ['test/fuzz.test.ts'],
          // Browser, multi-process and multi-instance tests: one file at a time, in one worker.
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        extends: true as const,
        // The fuzzer has a worker of its own, beside the integration files (it starts its own holders).
        test: { name: 'fuzz', include: ['test/fuzz.test.ts'] },
      },
    ],
  },
})
