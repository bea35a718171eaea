/**
 * In-process micro-benchmarks (no HTTP): the demo data source's transaction lookup, and the store
 * operations on the resource hot path — audit append (one INSERT, no lock), grant lookup and
 * DPoP jti recording — on the store being benchmarked.
 */

import { join } from 'node:path'
import type { Grant } from '@consentry/core'
import { createAuditTrail, loadAuditLogKey, memoryStore, type Store, sqliteStore } from '@consentry/server'
import { pgliteStore, postgresStore } from '@consentry/store-postgres'
import { createDemoData } from '../examples/payment-provider/src/data.ts'
import { now, type Op, run, type Summary } from './lib.ts'

export interface MicroResult {
  name: string
  concurrency: number
  ops: number
  throughput: number
  /** Milliseconds. */
  latency: Summary
}

const timed =
  (fn: () => Promise<unknown>): Op =>
  async (sample) => {
    const t = now()
    await fn()
    sample(now() - t)
  }

export async function microBenchmarks(
  kind: string,
  o: { dataDir: string; pg: string; schema: string; quick: boolean },
): Promise<MicroResult[]> {
  const out: MicroResult[] = []
  const bench = async (name: string, op: Op, ops: number, concurrency = 1) => {
    const r = await run(op, { ops, warmup: Math.ceil(ops / 10), concurrency, maxMs: 20_000 })
    out.push({ name, concurrency, ops: r.ops, throughput: r.throughput, latency: r.latency })
    console.error(
      `  ${name} c=${concurrency}: ${r.throughput.toFixed(0)} ops/s, p50 ${(r.latency.p50 * 1000).toFixed(0)} µs`,
    )
  }
  const scale = o.quick ? 0.2 : 1

  // The data source (the demo's in-memory history; the same whatever the store).
  const demo = createDemoData()
  const today = demo.today
  const from = new Date(Date.parse(`${today}T00:00:00Z`) - 364 * 86_400_000).toISOString().slice(0, 10)
  const q = { subject: 'alice', accountId: 'acc_alice_wallet', from, to: today }
  const all = await demo.dataSource.listTransactions({ ...q, limit: 100_000 })
  const middle = all[Math.floor(all.length / 2)]!
  const n = Math.round(20_000 * scale)
  await bench(
    'data source: listTransactions, first page (101)',
    timed(() => demo.dataSource.listTransactions({ ...q, limit: 101 })),
    n,
  )
  await bench(
    'data source: listTransactions, mid-period cursor (51)',
    timed(() =>
      demo.dataSource.listTransactions({
        ...q,
        limit: 51,
        before: { bookedAt: middle.bookedAt, id: middle.id },
      }),
    ),
    n,
  )
  await bench(
    'data source: listAccounts',
    timed(() => demo.dataSource.listAccounts('alice')),
    n,
  )

  // The store.
  const store: Store =
    kind === 'memory'
      ? memoryStore()
      : kind === 'sqlite'
        ? await sqliteStore({ path: join(o.dataDir, 'consentry.db') })
        : kind === 'pglite'
          ? await pgliteStore({ dataDir: o.dataDir })
          : await postgresStore({ connectionString: o.pg, schema: o.schema })
  try {
    const audit = createAuditTrail({ store, logKey: await loadAuditLogKey(store, 'bench/audit') })
    const event = () =>
      audit.record({
        type: 'data.read',
        actor: { type: 'client', id: 'client_bench' },
        grantId: 'grant_bench',
        clientId: 'client_bench',
        subject: 'alice',
        data: {
          resource: 'transactions',
          account: 'acc_alice_wallet',
          from,
          to: today,
          records: 100,
          fields: ['booked_at', 'amount', 'currency', 'description', 'category'],
          page: 1,
          attended: true,
        },
      })
    const m = Math.round(500 * scale)
    await bench(`${kind} store: audit append`, timed(event), m, 1)
    await bench(`${kind} store: audit append`, timed(event), m, 8)

    const t = Date.now()
    const grant: Grant = {
      id: 'grant_bench',
      clientId: 'client_bench',
      subject: 'alice',
      status: 'active',
      authorizationDetails: [{ type: 'transaction_history', accounts: ['acc_alice_wallet'] }],
      createdAt: t,
      updatedAt: t,
      expiresAt: t + 86_400_000,
    }
    await store.createGrant(grant)
    await bench(
      `${kind} store: getGrant`,
      timed(() => store.getGrant('grant_bench')),
      m,
      1,
    )
    let j = 0
    await bench(
      `${kind} store: recordJti`,
      timed(() => store.recordJti(`dpop:bench:${j++}:${t}`, Date.now() + 180_000)),
      m,
      1,
    )
  } finally {
    await store.close()
  }
  return out
}
