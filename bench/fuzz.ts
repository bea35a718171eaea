/**
 * The fuzz suite at full size, locally: `npm run fuzz -- --runs 1000000 [--seed N] [--store memory|postgres|pglite]`.
 * Prints progress (requests, statuses, RSS) every 10,000 requests and every failing request it meets
 * (it keeps going, so one run reports every class of failure); exits 1 if there was any.
 */
import { parseArgs } from 'node:util'
import { memoryStore, type Store } from '@consentry/server'
import { pgliteStore, postgresStore } from '@consentry/store-postgres'
import { fuzz, startFuzzTarget } from '../test/fuzz/run.ts'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000000' },
    seed: { type: 'string' },
    store: { type: 'string', default: 'memory' },
  },
})
const store: Store =
  values.store === 'postgres'
    ? await postgresStore({
        connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
        schema: `consentry_fuzz_${Date.now().toString(36)}`,
      })
    : values.store === 'pglite'
      ? await pgliteStore({ dataDir: 'memory://' })
      : memoryStore()
const target = await startFuzzTarget(store)
const t0 = performance.now()
const stats = await fuzz(target, {
  runs: Number(values.runs),
  maxFailures: 200,
  ...(values.seed ? { seed: Number(values.seed) } : {}),
  onProgress: (done, s) => {
    if (done % 10_000 === 0)
      console.log(
        `${done} requests, ${Math.round(done / ((performance.now() - t0) / 1000))}/s, rss ${s.rssMaxMb} MB max, statuses ${JSON.stringify(s.byStatus)}, failures ${s.failures.length}`,
      )
  },
})
console.log(JSON.stringify({ ...stats, failures: stats.failures.length }, null, 1))
for (const f of stats.failures) console.log(`FAIL ${f.slice(0, 1000)}`)
await target.close()
await store.close()
process.exit(stats.failures.length ? 1 : 0)
