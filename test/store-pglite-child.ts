/**
 * Child process for the crash test in store-pglite.test.ts: opens the PGlite store (the default
 * directory, relative to its cwd, unless a directory is given), makes acknowledged writes, says
 * `committed`, then waits to be SIGKILLed.
 */
import { pgliteStore } from '@consentry/store-postgres'

const dataDir = process.argv[2]
const store = await pgliteStore(dataDir ? { dataDir } : {})
await store.createGrant({
  id: 'crash-grant',
  clientId: 'c1',
  subject: 'alice',
  status: 'active',
  authorizationDetails: [{ type: 'transaction_history' }],
  createdAt: 1,
  updatedAt: 1,
  expiresAt: 2,
})
await store.appendAuditEvent({
  id: 'evt-crash',
  at: '2024-01-01T00:00:00.000Z',
  type: 'grant.approved',
  actor: { type: 'subject', id: 'alice' },
  grant_id: 'crash-grant',
  data: { note: 'written before SIGKILL' },
})
process.stdout.write('committed\n')
setInterval(() => {}, 60_000)
