/**
 * Audit appends on PostgreSQL from several instances at once (issue 10's target: ≥ 5,000/s, no
 * global lock on the request path). Each "instance" is its own store (its own pg pool) with its own
 * sequencer running, as separate holder processes would; appenders call `audit.record()` as requests
 * do. Reports appends/s, how long the sequencer took to integrate everything, and RSS.
 *
 *   node --conditions=source --import tsx bench/audit-append.ts [--instances 3] [--concurrency 32] [--seconds 10]
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (default)
 */
import { parseArgs } from 'node:util'
import { createAuditTrail, loadAuditLogKey } from '@consentry/server'
import { postgresStore } from '@consentry/store-postgres'

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '10' },
  },
})
const instances = Number(values.instances)
const concurrency = Number(values.concurrency)
const seconds = Number(values.seconds)
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const schema = `bench_audit_${process.pid}`

const stores = await Promise.all(
  Array.from({ length: instances }, () => postgresStore({ connectionString: url, schema })),
)
const logKey = await loadAuditLogKey(stores[0]!, 'bench.example/audit')
const trails = stores.map((store) => createAuditTrail({ store, logKey }))
const stops = trails.map((t) => t.startSequencer())

let appended = 0
const deadline = Date.now() + seconds * 1000
const started = performance.now()
const rss: number[] = []
const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 1000)
await Promise.all(
  trails.flatMap((trail, i) =>
    Array.from({ length: concurrency }, async (_, c) => {
      while (Date.now() < deadline) {
        await trail.record({
          type: 'data.read',
          actor: { type: 'client', id: `client_${i}` },
          grantId: `grant_${i}_${c}`,
          clientId: `client_${i}`,
          subject: 'alice',
          data: { resource: 'transactions', account: 'acc_alice_wallet', records: 100, page: 1 },
        })
        appended++
      }
    }),
  ),
)
const elapsed = (performance.now() - started) / 1000
const flushStart = performance.now()
const checkpoint = await trails[0]!.flush()
const flushMs = performance.now() - flushStart
clearInterval(sampler)
for (const stop of stops) stop()
const pending = await stores[0]!.listAuditEvents({ pending: true, limit: 1 })
console.log(
  JSON.stringify(
    {
      instances,
      concurrency_per_instance: concurrency,
      seconds: Number(elapsed.toFixed(1)),
      appended,
      appends_per_second: Math.round(appended / elapsed),
      tree_size: checkpoint?.size,
      all_integrated: pending.length === 0 && checkpoint?.size === appended,
      integration_lag_after_stop_ms: Math.round(flushMs),
      rss_mb: rss.map((b) => Math.round(b / 1048576)),
    },
    null,
    2,
  ),
)
for (const store of stores) await store.close()
// Drop the bench schema.
const { default: pg } = await import('pg')
const client = new pg.Client({ connectionString: url })
await client.connect()
await client.query(`DROP SCHEMA ${schema} CASCADE`)
await client.end()
