/**
 * CPU per read on PostgreSQL, measured where load on a shared machine moves it least: the database
 * backend's own CPU time (from /proc, one pooled connection, so one backend) and this process's, per
 * resource read's store work (the jti and the grant, the read quota, then one audit insert: three
 * statements), N times in sequence. Needs PostgreSQL on this host (reads /proc/<backend pid>/stat).
 * The database: CONSENTRY_TEST_DATABASE_URL, else the local trust-auth server.
 *
 *   node --conditions=source --import tsx bench/pg-read-cpu.ts [reads=2000]
 */
import { readFileSync } from 'node:fs'
import { postgresStore } from '@consentry/store-postgres'
import pg from 'pg'

const reads = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2000)
const url = process.env.CONSENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const schema = `consentry_cpu_${process.pid}`
const pool = new pg.Pool({ connectionString: url, max: 1 })
const ticks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(f[11]) + Number(f[12])) * 10_000 // utime + stime, clock ticks (100/s) → µs
}
try {
  const store = await postgresStore({ pool, schema })
  const [{ pid }] = (await pool.query('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }]
  const T = Date.now()
  await store.createGrant({
    id: 'g1',
    clientId: 'c1',
    subject: 'alice',
    status: 'active',
    authorizationDetails: [{ type: 'transaction_history' }],
    createdAt: T,
    updatedAt: T,
    expiresAt: T + 86_400_000,
  })
  const one = async (i: number) => {
    const r = await store.recordJtiAndGetGrant(`dpop:k:${i}`, T + 120_000, 'g1')
    const quota = await store.consumeReadQuota('attended:g1', T + i, 1_000_000, 86_400_000, {
      flushedByNextWrite: true,
    })
    if (!r.firstUse || !r.grant || !quota.allowed) throw new Error('refused')
    await store.appendAuditEvent({
      id: `evt_${i}`,
      at: new Date(T).toISOString(),
      type: 'data.read',
      actor: { type: 'client', id: 'c1' },
      grant_id: 'g1',
      client_id: 'c1',
      subject: 'alice',
      data: { records: 100, attended: true },
    })
  }
  for (let i = 0; i < 200; i++) await one(-1 - i) // warm-up
  const db0 = ticks(pid)
  const js0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < reads; i++) await one(i)
  const wall = performance.now() - t0
  const js = process.cpuUsage(js0)
  const db = ticks(pid) - db0
  console.log(
    `${reads} reads (3 statements each): ${((wall * 1000) / reads).toFixed(0)} µs wall/read, PostgreSQL backend ${(db / reads).toFixed(0)} µs CPU/read, Node ${((js.user + js.system) / reads).toFixed(0)} µs CPU/read`,
  )
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
  await pool.end()
}
