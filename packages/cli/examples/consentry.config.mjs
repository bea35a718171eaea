// A data holder you can run without writing a server:
//
//   npx consentry serve --config consentry.config.mjs
//
// The default export is the configuration `createConsentServer` takes (see @consentry/server's
// README), plus where to listen (`port`, `host`). `consentry serve` fills in what is left out: the
// issuer (http://127.0.0.1:<port>), a store (memory; --data-dir or --database-url to keep data), and
// keys from CONSENTRY_SIGNING_JWK / CONSENTRY_AUDIT_SIGNING_JWK when set.
//
// The data below is a tiny sample in the spirit of the Harbor Pay demo: two people (alice/alice,
// bob/bob), three accounts, a year of transactions. Replace `dataSource` and `accountHolders` with
// your own: the data source only answers narrow questions (which accounts does this person have?
// which transactions of this account between these dates?); Consentry enforces the consent.
import { createHash, timingSafeEqual } from 'node:crypto'

const ACCOUNTS = [
  {
    id: 'acc_alice_wallet',
    owner: 'alice',
    name: 'Everyday Wallet',
    type: 'wallet',
    currency: 'EUR',
    opening: 124035,
  },
  {
    id: 'acc_alice_savings',
    owner: 'alice',
    name: 'Rainy Day Savings',
    type: 'savings',
    currency: 'EUR',
    opening: 500000,
  },
  {
    id: 'acc_bob_wallet',
    owner: 'bob',
    name: "Bob's Wallet",
    type: 'wallet',
    currency: 'EUR',
    opening: 86020,
  },
]

const DAY = 86_400_000
const cents = (n) =>
  `${n < 0 ? '-' : ''}${Math.floor(Math.abs(n) / 100)}.${String(Math.abs(n) % 100).padStart(2, '0')}`

// A year of history ending today: salary on the 1st, rent on the 3rd, groceries every few days,
// a monthly transfer to savings. Deterministic: the same day gives the same data.
const SHOPS = [
  ['Lidl', 'groceries', 2345],
  ['Café Central', 'eating_out', 890],
  ['City Metro', 'transport', 320],
  ['Rewe', 'groceries', 4120],
  ['Thalia Books', 'shopping', 1899],
]
function history() {
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate())
  const moves = []
  for (let day = today - 364 * DAY; day <= today; day += DAY) {
    const date = new Date(day)
    const d = date.getUTCDate()
    for (const [owner, wallet, salary, rent] of [
      ['alice', 'acc_alice_wallet', 321000, -98000],
      ['bob', 'acc_bob_wallet', 254000, -72000],
    ]) {
      if (d === 1)
        moves.push([
          wallet,
          day + 8 * 3600_000,
          salary,
          `Salary ${owner === 'alice' ? 'Northwind GmbH' : 'Contoso AG'}`,
          'employer',
          'income',
        ])
      if (d === 3) moves.push([wallet, day + 9 * 3600_000, rent, 'Rent', 'landlord', 'housing'])
      const [shop, category, price] = SHOPS[(d + owner.length) % SHOPS.length]
      if ((d + owner.length) % 3 === 0)
        moves.push([wallet, day + 17 * 3600_000, -(price + (d % 7) * 13), shop, shop, category])
    }
    if (d === 5) {
      moves.push([
        'acc_alice_wallet',
        day + 10 * 3600_000,
        -25000,
        'To Rainy Day Savings',
        'Alice Martin',
        'transfer',
      ])
      moves.push([
        'acc_alice_savings',
        day + 10 * 3600_000,
        25000,
        'From Everyday Wallet',
        'Alice Martin',
        'transfer',
      ])
    }
  }
  moves.sort((a, b) => a[1] - b[1])
  const byAccount = new Map(ACCOUNTS.map((a) => [a.id, { balance: a.opening, txs: [] }]))
  for (const [accountId, at, amount, description, counterparty, category] of moves) {
    const account = byAccount.get(accountId)
    account.balance += amount
    account.txs.push({
      id: `tx_${accountId.slice(4)}_${String(account.txs.length + 1).padStart(5, '0')}`,
      accountId,
      bookedAt: new Date(at).toISOString(),
      amount: cents(amount),
      currency: 'EUR',
      description,
      counterparty,
      category,
      status: at > today - DAY ? 'pending' : 'booked',
      balanceAfter: cents(account.balance),
    })
  }
  for (const account of byAccount.values()) account.txs.reverse() // newest first
  return byAccount
}
const HISTORY = history()

const owned = (subject, accountId) => ACCOUNTS.some((a) => a.id === accountId && a.owner === subject)
/** Newest first: by bookedAt, then id, both descending. */
const olderThan = (tx, bound) =>
  tx.bookedAt < bound.bookedAt || (tx.bookedAt === bound.bookedAt && tx.id < bound.id)

/** The data source: Consentry asks narrow, ranged questions; it never asks for "everything". */
const dataSource = {
  async listAccounts(subject) {
    return ACCOUNTS.filter((a) => a.owner === subject).map(({ id, name, type, currency }) => ({
      id,
      name,
      type,
      currency,
    }))
  },
  async getBalance(subject, accountId) {
    if (!owned(subject, accountId)) return null
    const [latest] = HISTORY.get(accountId).txs
    return {
      amount: latest?.balanceAfter ?? '0.00',
      currency: 'EUR',
      asOf: latest?.bookedAt ?? new Date().toISOString(),
    }
  },
  // One page of an account's transactions booked on a UTC date within [from, to], newest first,
  // strictly after `before` in that order, at most `limit`.
  async listTransactions({ subject, accountId, from, to, before, limit }) {
    if (!owned(subject, accountId)) return []
    const start = `${from}T00:00:00.000Z`
    const end = new Date(Date.parse(`${to}T00:00:00.000Z`) + DAY).toISOString()
    return HISTORY.get(accountId)
      .txs.filter((tx) => tx.bookedAt >= start && tx.bookedAt < end && (!before || olderThan(tx, before)))
      .slice(0, limit)
  },
}

// The built-in sign-in form with two sample people. A real holder plugs in its own login instead:
// accountHolders: { authenticate: async (request) => mySession(request) }
const USERS = {
  alice: { password: 'alice', name: 'Alice Martin' },
  bob: { password: 'bob', name: 'Bob Chen' },
}
const digest = (text) => createHash('sha256').update(text).digest()
const accountHolders = {
  async verifyPassword(username, password) {
    const user = Object.hasOwn(USERS, username) ? USERS[username] : undefined
    const ok = timingSafeEqual(digest(password), digest(user?.password ?? `${Math.random()}`))
    return ok && user ? { subject: username, name: user.name } : null
  },
  displayName: (subject) => USERS[subject]?.name,
}

export default {
  port: 4000,
  dataSource,
  accountHolders,
  theme: { name: 'Harbor Pay (sample)', colors: { primary: '#0b5cad' } },
  // Recipients register with this token (RFC 7591). A SAMPLE value: set your own for anything real.
  initialAccessToken: process.env.CONSENTRY_INITIAL_ACCESS_TOKEN ?? 'sample-initial-access-token',
  // SAMPLE ONLY: lets recipients on this machine (a lender on http://localhost) register webhooks,
  // jwks_uri and logos. Never set it on a real holder.
  dangerouslyAllowLoopbackEgress: true,
}
