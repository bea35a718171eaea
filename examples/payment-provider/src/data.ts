/**
 * Harbor Pay's demo data: two account holders, three accounts and about two years of realistic,
 * deterministic transactions (seeded PRNG; the same `today` and `seed` always give the same data),
 * served through Consentry's `DataSource` interface.
 */
import type { DataSource, HolderAccount, HolderTransaction, TransactionQuery } from '@consentry/server'
import { createUsers, type Users } from './users.ts'

export interface DemoDataOptions {
  /** The last day of history, `YYYY-MM-DD` (UTC). Default: the current UTC date. */
  today?: string
  /** PRNG seed. Default 20240601. */
  seed?: number
}

export interface DemoData {
  users: Users
  dataSource: DataSource
  /** The reference day the history ends on. */
  today: string
  /** The first day of history. */
  firstDay: string
}

/** mulberry32: a tiny, fast, seeded 32-bit PRNG. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface DemoAccount extends HolderAccount {
  owner: string
  /** Opening balance in cents, two years ago. */
  opening: number
}

export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
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
/** About two years of history. */
export const HISTORY_DAYS = 730
/** Transactions on the last this-many days (today and yesterday) are still `pending`. */
const PENDING_DAYS = 2

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false
  const d = new Date(`${s}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s
}

const dayStart = (date: string) => Date.parse(`${date}T00:00:00.000Z`)
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** Cents → "-12.50". */
export function formatAmount(cents: number): string {
  const sign = cents < 0 ? '-' : ''
  const abs = Math.abs(cents)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** A planned movement of money; ids and balances are assigned once all are sorted. */
interface Draft {
  accountId: string
  at: number
  cents: number
  description: string
  counterparty: string
  category: string
}

type Rng = () => number

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!
const between = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1))
/** A time of day in ms, between two hours. */
const timeOfDay = (rng: Rng, fromHour: number, toHour: number) =>
  between(rng, fromHour * 3600, toHour * 3600 - 1) * 1000

const GROCERS = ['Lidl', 'Rewe', 'Aldi Süd', 'Edeka', 'Carrefour Market', 'Albert Heijn']
const EATING_OUT = [
  'Café Central',
  'Pizzeria Da Marco',
  'Sushi Yama',
  'Bäckerei Kamps',
  'The Green Bowl',
  'Burger Lab',
]
const TRANSPORT = ['City Metro', 'BlaBlaCar', 'Shell Station', 'Bolt', 'Deutsche Bahn']
const SHOPS = ['Zalando', 'IKEA', 'Amazon EU', 'Decathlon', 'MediaMarkt', 'H&M', 'Thalia Books']
const PHARMACIES = ['dm-drogerie markt', 'Apotheke am Markt', 'Rossmann']

interface Person {
  wallet: string
  savings?: string
  employer: string
  salary: [number, number] // cents in year 1, year 2
  payday: number
  landlord: string
  rent: number
  groceryChance: number
  eatingOutChance: number
  subscriptions: Array<{ day: number; name: string; cents: number; category: string; description: string }>
}

const PEOPLE: Person[] = [
  {
    wallet: 'acc_alice_wallet',
    savings: 'acc_alice_savings',
    employer: 'Northwind Logistics GmbH',
    salary: [287000, 301000],
    payday: 25,
    landlord: 'Lindenhof Property Management',
    rent: 115000,
    groceryChance: 0.45,
    eatingOutChance: 0.3,
    subscriptions: [
      { day: 3, name: 'FitZone Gym', cents: 2990, category: 'health', description: 'Membership FitZone Gym' },
      { day: 7, name: 'Spotify', cents: 1099, category: 'subscriptions', description: 'Spotify Premium' },
      {
        day: 12,
        name: 'Telekom',
        cents: 3999,
        category: 'utilities',
        description: 'Telekom Fiber 250 internet',
      },
      { day: 15, name: 'Netflix', cents: 1399, category: 'subscriptions', description: 'Netflix Standard' },
      { day: 18, name: 'Vodafone', cents: 1999, category: 'utilities', description: 'Vodafone mobile plan' },
    ],
  },
  {
    wallet: 'acc_bob_wallet',
    employer: 'Chen Design Studio',
    salary: [235000, 242000],
    payday: 15,
    landlord: 'Havelblick Wohnen GmbH',
    rent: 89000,
    groceryChance: 0.35,
    eatingOutChance: 0.4,
    subscriptions: [
      { day: 5, name: 'Adobe', cents: 6049, category: 'subscriptions', description: 'Adobe Creative Cloud' },
      { day: 9, name: 'Disney+', cents: 899, category: 'subscriptions', description: 'Disney+ monthly' },
      { day: 20, name: 'O2', cents: 1499, category: 'utilities', description: 'O2 mobile plan' },
    ],
  },
]

function draftHistory(rng: Rng, first: number, last: number): Draft[] {
  const drafts: Draft[] = []
  const add = (d: Draft) => drafts.push(d)
  for (const p of PEOPLE) {
    const refundsDue: Draft[] = []
    for (let day = first; day <= last; day += DAY) {
      const date = new Date(day)
      const dom = date.getUTCDate()
      const month = MONTHS[date.getUTCMonth()]!
      const year = date.getUTCFullYear()
      const lastDom = new Date(Date.UTC(year, date.getUTCMonth() + 1, 0)).getUTCDate()
      const isToday = day === last
      // Today only has the morning so far.
      const latest = isToday ? 10 : 22
      const secondYear = day - first >= 365 * DAY

      if (dom === p.payday)
        add({
          accountId: p.wallet,
          at: day + timeOfDay(rng, 5, 7),
          cents: p.salary[secondYear ? 1 : 0],
          description: `Salary ${month} ${year}`,
          counterparty: p.employer,
          category: 'income',
        })
      if (dom === 1)
        add({
          accountId: p.wallet,
          at: day + timeOfDay(rng, 7, 9),
          cents: -p.rent,
          description: `Rent ${month} ${year}`,
          counterparty: p.landlord,
          category: 'housing',
        })
      if (dom === 6) {
        // Electricity: more in winter.
        const m = date.getUTCMonth()
        const winter = m <= 1 || m >= 10
        add({
          accountId: p.wallet,
          at: day + timeOfDay(rng, 8, 10),
          cents: -between(rng, winter ? 8900 : 5800, winter ? 12400 : 7900),
          description: `Electricity ${month} ${year}`,
          counterparty: 'Stadtwerke Energie',
          category: 'utilities',
        })
      }
      for (const s of p.subscriptions)
        if (dom === Math.min(s.day, lastDom))
          add({
            accountId: p.wallet,
            at: day + timeOfDay(rng, 3, 6),
            cents: -s.cents,
            description: s.description,
            counterparty: s.name,
            category: s.category,
          })

      if (rng() < p.groceryChance) {
        const shop = pick(rng, GROCERS)
        add({
          accountId: p.wallet,
          at: day + timeOfDay(rng, 8, Math.min(latest, 20)),
          cents: -between(rng, 650, rng() < 0.2 ? 14800 : 6200),
          description: `Card payment ${shop}`,
          counterparty: shop,
          category: 'groceries',
        })
      }
      if (rng() < p.eatingOutChance) {
        const place = pick(rng, EATING_OUT)
        add({
          accountId: p.wallet,
          at: day + timeOfDay(rng, 8, latest),
          cents: -between(rng, 280, rng() < 0.25 ? 6800 : 2400),
          description: `Card payment ${place}`,
          counterparty: place,
          category: 'eating_out',
        })
      }
      if (rng() < 0.15) {
        const t = pick(rng, TRANSPORT)
        add({
          accountId: p.wallet,
          at: day + timeOfDay(rng, 7, latest),
          cents: -between(rng, 290, t === 'Shell Station' || t === 'Deutsche Bahn' ? 7900 : 2600),
          description: t === 'Shell Station' ? 'Fuel Shell Station' : `${t} ride`,
          counterparty: t,
          category: 'transport',
        })
      }
      if (rng() < 0.04) {
        const ph = pick(rng, PHARMACIES)
        add({
          accountId: p.wallet,
          at: day + timeOfDay(rng, 9, latest),
          cents: -between(rng, 350, 3800),
          description: `Card payment ${ph}`,
          counterparty: ph,
          category: 'health',
        })
      }
      if (rng() < 0.06) {
        const shop = pick(rng, SHOPS)
        const cents = between(rng, 1990, 21900)
        const at = day + timeOfDay(rng, 9, latest)
        add({
          accountId: p.wallet,
          at,
          cents: -cents,
          description: `Online order ${shop}`,
          counterparty: shop,
          category: 'shopping',
        })
        if (rng() < 0.2)
          refundsDue.push({
            accountId: p.wallet,
            at: at + between(rng, 3, 14) * DAY,
            cents,
            description: `Refund ${shop} order`,
            counterparty: shop,
            category: 'refund',
          })
      }
      // Refunds land when due (today's only if already past).
      for (let i = refundsDue.length - 1; i >= 0; i--) {
        const r = refundsDue[i]!
        if (r.at >= day + DAY) continue
        refundsDue.splice(i, 1)
        if (!isToday || r.at < day + latest * 3_600_000) add(r)
      }

      if (p.savings) {
        // Standing order after payday; sometimes money comes back from savings.
        if (dom === Math.min(p.payday + 1, lastDom))
          transfer(add, p.wallet, p.savings, day + timeOfDay(rng, 6, 8), 40000)
        if (dom === 10 && rng() < 0.15)
          transfer(add, p.savings, p.wallet, day + timeOfDay(rng, 12, 18), between(rng, 2, 6) * 10000)
        if (dom === lastDom)
          add({
            accountId: p.savings,
            at: day + timeOfDay(rng, 1, 2),
            cents: between(rng, 480, 1350),
            description: `Interest ${month} ${year}`,
            counterparty: 'Harbor Pay',
            category: 'interest',
          })
      }
    }
  }
  return drafts
}

function transfer(add: (d: Draft) => void, from: string, to: string, at: number, cents: number) {
  const names: Record<string, string> = Object.fromEntries(DEMO_ACCOUNTS.map((a) => [a.id, a.name]))
  add({
    accountId: from,
    at,
    cents: -cents,
    description: `Transfer to ${names[to]}`,
    counterparty: 'Alice Martin',
    category: 'transfer',
  })
  add({
    accountId: to,
    at,
    cents,
    description: `Transfer from ${names[from]}`,
    counterparty: 'Alice Martin',
    category: 'transfer',
  })
}

/** Newest-first order key: (bookedAt desc, id desc). */
function before(a: { bookedAt: string; id: string }, b: { bookedAt: string; id: string }): boolean {
  return a.bookedAt < b.bookedAt || (a.bookedAt === b.bookedAt && a.id < b.id)
}

/** Index of the first transaction (newest first) strictly older than `bound`. */
function firstOlderThan(txs: readonly HolderTransaction[], bound: { bookedAt: string; id: string }): number {
  let lo = 0
  let hi = txs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (before(txs[mid]!, bound)) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** Build Harbor Pay's demo users and data source. */
export function createDemoData(options: DemoDataOptions = {}): DemoData {
  const today = options.today ?? new Date().toISOString().slice(0, 10)
  if (!isIsoDate(today)) throw new TypeError('today must be a date as YYYY-MM-DD')
  const seed = options.seed ?? 20240601
  const rng = mulberry32(seed)
  const last = dayStart(today)
  const first = last - (HISTORY_DAYS - 1) * DAY
  const pendingFrom = last - (PENDING_DAYS - 1) * DAY

  const drafts = draftHistory(rng, first, last)
  // Chronological, then assign ids and running balances per account.
  drafts.sort((a, b) => a.at - b.at || a.accountId.localeCompare(b.accountId) || a.cents - b.cents)
  const byAccount = new Map<string, HolderTransaction[]>(DEMO_ACCOUNTS.map((a) => [a.id, []]))
  const balances = new Map(DEMO_ACCOUNTS.map((a) => [a.id, a.opening]))
  const counters = new Map(DEMO_ACCOUNTS.map((a) => [a.id, 0]))
  for (const d of drafts) {
    const balance = balances.get(d.accountId)! + d.cents
    balances.set(d.accountId, balance)
    const n = counters.get(d.accountId)! + 1
    counters.set(d.accountId, n)
    byAccount.get(d.accountId)!.push({
      id: `tx_${d.accountId.slice(4)}_${String(n).padStart(6, '0')}`,
      accountId: d.accountId,
      bookedAt: new Date(d.at).toISOString(),
      amount: formatAmount(d.cents),
      currency: 'EUR',
      description: d.description,
      counterparty: d.counterparty,
      category: d.category,
      status: d.at >= pendingFrom ? 'pending' : 'booked',
      balanceAfter: formatAmount(balance),
    })
  }
  // Stored newest first, the order every query answers in.
  for (const txs of byAccount.values()) txs.reverse()

  const accountsOf = (subject: string) => DEMO_ACCOUNTS.filter((a) => a.owner === subject)
  const owned = (subject: string, accountId: string) =>
    DEMO_ACCOUNTS.some((a) => a.id === accountId && a.owner === subject)

  const dataSource: DataSource = {
    async listAccounts(subject) {
      return accountsOf(subject).map(({ id, name, type, currency }) => ({ id, name, type, currency }))
    },
    async getBalance(subject, accountId) {
      if (!owned(subject, accountId)) return null
      const latest = byAccount.get(accountId)![0]
      const account = DEMO_ACCOUNTS.find((a) => a.id === accountId)!
      return {
        amount: latest ? latest.balanceAfter : formatAmount(account.opening),
        currency: account.currency,
        asOf: latest ? latest.bookedAt : new Date(last).toISOString(),
      }
    },
    async listTransactions(query: TransactionQuery) {
      const { subject, accountId, from, to, limit } = query
      if (!owned(subject, accountId) || !isIsoDate(from) || !isIsoDate(to) || from > to) return []
      if (!Number.isInteger(limit) || limit <= 0) return []
      const txs = byAccount.get(accountId)!
      const fromIso = `${from}T00:00:00.000Z`
      const endExclusive = { bookedAt: new Date(dayStart(to) + DAY).toISOString(), id: '' }
      let start = firstOlderThan(txs, endExclusive)
      if (query.before) start = Math.max(start, firstOlderThan(txs, query.before))
      const out: HolderTransaction[] = []
      for (let i = start; i < txs.length && out.length < limit; i++) {
        const tx = txs[i]!
        if (tx.bookedAt < fromIso) break
        out.push({ ...tx })
      }
      return out
    },
  }

  return { users: createUsers(), dataSource, today, firstDay: isoDay(first) }
}
