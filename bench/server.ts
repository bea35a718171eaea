/**
 * The server side of the benchmark, in its own process (so the load generator and the server do not
 * share one event loop, and `--cpu-prof` profiles the server alone). Started by bench/run.ts with IPC:
 * sends `{ issuer }` once listening, exits cleanly on `'stop'`.
 *
 *   node --conditions=source --import tsx bench/server.ts <memory|sqlite|pglite|postgres> [pg url|dir] [schema] [maintenance]
 *
 * `maintenance` (bench/compare.ts: the holder as users run it) keeps the background sweeps on.
 * bench/soak.ts also asks, over the same IPC channel (never over HTTP: nothing here is in the
 * product), for `'stats'` (memory and the audit log's progress) and `{ snapshot: file }` (a V8 heap
 * snapshot).
 */
import { join } from 'node:path'
import { GCProfiler, writeHeapSnapshot } from 'node:v8'
import { memoryStore, type Store, sqliteStore } from '@consentry/server'
import { pgliteStore, postgresStore } from '@consentry/store-postgres'
import { startHarborPay } from '../examples/payment-provider/src/app.ts'

const [kind, where, name, maintenance] = process.argv.slice(2)

async function openStore(): Promise<Store> {
  if (kind === 'memory') return memoryStore()
  if (kind === 'sqlite') return sqliteStore({ path: join(where!, 'consentry.db') })
  if (kind === 'pglite') return pgliteStore({ dataDir: where! })
  if (kind === 'postgres') return postgresStore({ connectionString: where!, schema: name! })
  throw new Error(`unknown store ${kind}`)
}

const store = await openStore()
const holder = await startHarborPay({
  store,
  port: 0,
  publicHost: '127.0.0.1',
  // The scenario suite turns background sweeps and audit checkpoints off (they would land at random
  // points in a run); the side-by-side comparison keeps them on, as users run the holder.
  maintenance: maintenance === 'maintenance',
  // The benchmark reads one grant thousands of times as "attended": lift the per-grant attended cap
  // (50 a day by default) rather than linking thousands of grants.
  overrides: { attendedReadsPerDay: 1_000_000 },
})
process.send!({ issuer: holder.issuer })
process.on('message', async (m) => {
  if (m !== 'stop') return
  await holder.close()
  await store.close()
  process.exit(0) // --cpu-prof writes its profile here
})
process.on('message', (m) => {
  // bench/compare.ts: the CPU this process has used (user + system µs), around a measured phase.
  if (m === 'cpu') process.send!({ cpu: process.cpuUsage() })
})
process.on('disconnect', () => process.exit(0))
// bench/soak.ts: heapUsed is a sawtooth between collections; the heap left by the latest full
// (mark-sweep-compact) collection is what grows if something leaks. Watched without forcing any GC.
const gcProfiler = new GCProfiler()
gcProfiler.start()
let heapAfterFullGc: number | null = null
process.on('message', async (m) => {
  // bench/soak.ts: memory now, and how far the audit sequencer is (integrated = the checkpoint's size).
  if (m !== 'stats') return
  const memory = process.memoryUsage()
  const full = gcProfiler.stop().statistics.filter((g) => g.gcType === 'MarkSweepCompact')
  gcProfiler.start()
  heapAfterFullGc = full.at(-1)?.afterGC.heapStatistics.usedHeapSize ?? heapAfterFullGc
  const [checkpoint, pending] = await Promise.all([
    store.getAuditCheckpoint(),
    store.listAuditEvents({ pending: true, limit: 100_000 }),
  ])
  process.send!({
    stats: { memory, heapAfterFullGc, integrated: checkpoint?.size ?? 0, pending: pending.length },
  })
})
process.on('message', (m) => {
  const file = (m as { snapshot?: string } | null)?.snapshot
  if (typeof file === 'string') process.send!({ snapshot: writeHeapSnapshot(file) })
})
