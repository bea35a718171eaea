/**
 * Property-based fuzzing of every endpoint over real HTTP (fast-check): malformed forms, JSON, JWTs,
 * DPoP proofs (garbage, and validly signed ones with hostile claims), headers, paths, methods and
 * encodings, some of them carrying a live client's credentials so the checks behind authentication
 * are reached too. The invariant: no answer ≥ 500, no dropped connection, no unexpected-error report,
 * and the holder's memory stays bounded.
 *
 * CI size: FUZZ_RUNS (default 100,000) on the memory store, FUZZ_RUNS_PG (default 5,000) on
 * PostgreSQL, whose text type refuses NUL bytes and so finds what the memory store cannot.
 * A million locally: `npm run fuzz -- --runs 1000000`. A failing seed is printed; FUZZ_SEED replays it.
 */
import { memoryStore } from '@consentry/server'
import { postgresStore } from '@consentry/store-postgres'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { fuzz, startFuzzTarget } from './fuzz/run.ts'

const runs = Number(process.env.FUZZ_RUNS ?? 100_000)
const runsPg = Number(process.env.FUZZ_RUNS_PG ?? 5_000)
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined

const url =
  process.env.CONSENTRY_TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
const schema = `consentry_fuzz${process.pid}_${Date.now().toString(36)}`

afterAll(async () => {
  const admin = new pg.Pool({ connectionString: url, max: 1 })
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await admin.end()
})

describe('fuzzing every endpoint over HTTP', () => {
  it(`answers ~${runs} generated requests on the memory store without a 5xx, a dropped connection or an error report`, async () => {
    const target = await startFuzzTarget(memoryStore())
    try {
      const stats = await fuzz(target, { runs, ...(seed !== undefined ? { seed } : {}) })
      console.info(`[fuzz] memory: ${JSON.stringify({ ...stats, failures: stats.failures.length })}`)
      expect(stats.failures, `seed ${stats.seed}`).toEqual([])
      expect(stats.runs).toBeGreaterThanOrEqual(runs * 0.9)
      // Every kind of answer was reached: refusals of each sort, pages, redirects and successes.
      for (const status of [200, 303, 400, 401, 404, 405])
        expect(stats.byStatus[status] ?? 0).toBeGreaterThan(0)
      // Bounded memory: what the holder keeps per request (jtis, failed sign-ins, audit events) is
      // small. Measured as the live heap after a full GC: RSS alone moves with the collector's mood.
      expect(stats.heapEndMb).toBeDefined()
      expect(stats.heapEndMb! - stats.heapStartMb!).toBeLessThan(200)
    } finally {
      await target.close()
    }
  }, 1_800_000)

  it(`answers ~${runsPg} generated requests on PostgreSQL the same way`, async () => {
    const target = await startFuzzTarget(await postgresStore({ connectionString: url, schema }))
    try {
      const stats = await fuzz(target, { runs: runsPg, ...(seed !== undefined ? { seed } : {}) })
      console.info(`[fuzz] postgres: ${JSON.stringify({ ...stats, failures: stats.failures.length })}`)
      expect(stats.failures, `seed ${stats.seed}`).toEqual([])
    } finally {
      await target.close()
      await target.holder.server.store.close()
    }
  }, 1_800_000)
})
