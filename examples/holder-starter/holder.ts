/**
 * A Consentry data holder in one file: copy it, replace the two marked parts (your data, your login),
 * run it. `npm start` (Node 22.13+). The environment it reads:
 *
 *   CONSENTRY_KEY_ENCRYPTION_KEY    required: 32 random bytes, base64url (encrypts the keys kept in the store)
 *   CONSENTRY_INITIAL_ACCESS_TOKEN  required: the token recipients register with (RFC 7591)
 *   DATABASE_URL                    PostgreSQL; unset: SQLite (node:sqlite) in CONSENTRY_DATA_DIR/consentry.db
 *   CONSENTRY_DATA_DIR              default .consentry/db
 *   PORT, HOST, ISSUER              default 4000, 127.0.0.1, http://127.0.0.1:{PORT}; https in production
 *   DEMO_PASSWORD                   the demo person's password; unset: a random one, printed at start
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type AccountHolders,
  createConsentServer,
  type DataSource,
  guardNodeServer,
  type HolderTransaction,
  nodeListener,
  sqliteStore,
} from '@consentry/server'
import { postgresStore } from '@consentry/store-postgres'

const env = process.env
const missing = ['CONSENTRY_KEY_ENCRYPTION_KEY', 'CONSENTRY_INITIAL_ACCESS_TOKEN'].filter(
  (name) => !env[name],
)
if (missing.length > 0) {
  const fresh = missing.map((name) => `  export ${name}=${randomBytes(32).toString('base64url')}`)
  console.error(`Set ${missing.join(' and ')} first, e.g. these fresh values:\n${fresh.join('\n')}`)
  process.exit(1)
}

// ---- 1. Your data (replace): accounts and transactions, newest first, never "everything" ----------
const DAY = 86_400_000
const ledger: HolderTransaction[] = []
for (let i = 120, balance = 1000; i >= 1; i--) {
  const day = new Date(Date.now() - i * DAY)
  const amount = day.getUTCDate() === 1 ? 2500 : i % 4 === 0 ? -42.3 : 0
  if (amount === 0) continue
  balance += amount
  ledger.unshift({
    id: `tx-${i}`,
    accountId: 'acc-1',
    bookedAt: `${day.toISOString().slice(0, 10)}T09:00:00.000Z`,
    amount: amount.toFixed(2),
    currency: 'EUR',
    description: amount > 0 ? 'Salary' : 'Groceries',
    counterparty: amount > 0 ? 'Acme Ltd' : 'Corner Shop',
    category: amount > 0 ? 'income' : 'groceries',
    status: 'booked',
    balanceAfter: balance.toFixed(2),
  })
}
const ownerOf: Record<string, string> = { 'acc-1': 'demo' }
const dataSource: DataSource = {
  listAccounts: async (subject) =>
    subject === 'demo' ? [{ id: 'acc-1', name: 'Everyday account', type: 'wallet', currency: 'EUR' }] : [],
  listTransactions: async ({ subject, accountId, from, to, before, limit }) =>
    ownerOf[accountId] !== subject
      ? []
      : ledger
          .filter((t) => t.accountId === accountId)
          .filter((t) => t.bookedAt.slice(0, 10) >= from && t.bookedAt.slice(0, 10) <= to)
          .filter(
            (t) =>
              !before || t.bookedAt < before.bookedAt || (t.bookedAt === before.bookedAt && t.id < before.id),
          )
          .slice(0, limit),
}

// ---- 2. Your login (replace): `authenticate(request)` reading your own session is the real thing ----
const demoPassword = env.DEMO_PASSWORD ?? randomBytes(12).toString('base64url')
const digest = (s: string) => createHash('sha256').update(s).digest()
const accountHolders: AccountHolders = {
  // authenticate: async (request) => mySession(request), loginUrl: '/login',
  verifyPassword: async (username, password) =>
    timingSafeEqual(digest(password), digest(demoPassword)) && username === 'demo'
      ? { subject: 'demo', name: 'Demo Person' }
      : null,
}

// ---- The server ------------------------------------------------------------------------------------
const store = env.DATABASE_URL
  ? await postgresStore({ connectionString: env.DATABASE_URL })
  : await sqliteStore({ path: `${env.CONSENTRY_DATA_DIR ?? '.consentry/db'}/consentry.db` })
let handle: RequestListener = (_req, res) => res.writeHead(503).end() // until the server is ready
const http = guardNodeServer(createServer((req, res) => handle(req, res)))
await new Promise<void>((ok) => http.listen(Number(env.PORT ?? 4000), env.HOST ?? '127.0.0.1', ok))
const issuer = env.ISSUER ?? `http://127.0.0.1:${(http.address() as AddressInfo).port}`
const server = await createConsentServer({
  issuer,
  store,
  dataSource,
  accountHolders,
  initialAccessToken: env.CONSENTRY_INITIAL_ACCESS_TOKEN,
  theme: { name: 'My Wallet' },
  // keyEncryptionKey: read from CONSENTRY_KEY_ENCRYPTION_KEY; or keyProvider: your KMS
})
handle = nodeListener(server.fetch)
const stopMaintenance = server.startMaintenance()
console.log(
  `Consentry holder at ${issuer} (sign in as demo / ${env.DEMO_PASSWORD ? '$DEMO_PASSWORD' : demoPassword})`,
)

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    stopMaintenance()
    http.close(() => void store.close().then(() => process.exit(0)))
    http.closeAllConnections()
  })
