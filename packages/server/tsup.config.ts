import { defineConfig } from 'tsup'
import shared from '../../tsup.config.ts'

/**
 * The shared build, plus one entry per framework adapter (`@consentry/server/express`, `/fastify`,
 * `/hono`, `/next`). The adapters only use structural types: no framework is bundled or required.
 */
export default defineConfig({
  ...(shared as object),
  entry: {
    index: 'src/index.ts',
    express: 'src/adapters/express.ts',
    fastify: 'src/adapters/fastify.ts',
    hono: 'src/adapters/hono.ts',
    next: 'src/adapters/next.ts',
  },
})
