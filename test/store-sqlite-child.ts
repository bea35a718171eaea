/**
 * Child process for the crash test in store-sqlite.test.ts: opens the SQLite store at the path given,
 * makes acknowledged writes (several in one batch: a group commit), says `committed`, then waits to be
 * SIGKILLed.
 */
import { sqliteStore } from '@consentry/server'

const store = await sqliteStore({ path: process.argv[2]! })
const grant = (id: string) => ({
  id,
  clientId: 'c1',
  subject: 'alice',
  status: 'active' as const,
  authorizationDetails: [{ type: 'transaction_history' }],
  createdAt: 1,
  updatedAt: 1,
  expiresAt: 2,
})
await Promise.all([
  store.createGrant(grant('crash-grant')),
  store.createGrant(grant('crash-grant-2')),
  store.appendAuditEvent({
    id: 'evt-crash',
    at: '2024-01-01T00:00:00.000Z',
    type: 'grant.approved',
    actor: { type: 'subject', id: 'alice' },
    grant_id: 'crash-grant',
    data: { note: 'written before SIGKILL' },
  }),
])
process.stdout.write('committed\n')
setInterval(() => {}, 60_000)
