/**
 * The framework adapters ship as subpath exports (`@consentry/server/express`, …): each is listed in
 * package.json with its source, built by tsup from that source, and imports no framework — Express,
 * Fastify, Hono and Next stay out of `@consentry/server`'s dependencies (structural types only).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import tsup from '../tsup.config.ts'

const root = new URL('../', import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
const ADAPTERS = ['express', 'fastify', 'hono', 'next']

describe('adapter subpath exports', () => {
  it('each adapter is exported, typed (ESM and CJS) and built by tsup from its source', () => {
    const entries = (tsup as { entry: Record<string, string> }).entry
    for (const name of ADAPTERS) {
      const exp = pkg.exports[`./${name}`]
      expect(exp, name).toEqual({
        source: `./src/adapters/${name}.ts`,
        import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
        require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
      })
      expect(`./${entries[name]}`).toBe(exp.source)
    }
  })

  it('no adapter imports its framework, and no framework is a dependency', () => {
    for (const name of ADAPTERS) {
      const source = readFileSync(new URL(`src/adapters/${name}.ts`, root), 'utf8')
      const imported = [...source.matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1]!)
      expect(
        imported.filter((m) => !m.startsWith('.') && !m.startsWith('node:')),
        name,
      ).toEqual([])
    }
    const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })
    for (const framework of ['express', 'fastify', 'hono', '@hono/node-server', 'next'])
      expect(deps).not.toContain(framework)
  })
})
