import type { HolderTransaction } from '@consentry/server'
import { describe, expect, it } from 'vitest'
import { createDemoData, formatAmount, mulberry32 } from '../src/data.ts'

const TODAY = '2026-12-10'
const everything = { from: '2000-01-01', to: '2100-12-31', limit: 1_000_000 }
const ACCOUNTS = [
  ['alice', 'acc_alice_wallet'],
  ['alice', 'acc_alice_savings'],
  ['bob', 'acc_bob_wallet'],
] as const

async function all(subject: string, accountId: string, seed?: number): Promise<HolderTransaction[]> {
  const { dataSource } = createDemoData({ today: TODAY, seed })
  return dataSource.listTransactions({ subject, accountId, ...everything })
}
const cents = (s: string) => Math.round(Number(s) * 100)
const key = (t: HolderTransaction) => `${t.bookedAt}|${t.id}`

describe('Harbor Pay demo data', () => {
  it('mulberry32 is deterministic', () => {
    const a = mulberry32(7)
    const b = mulberry32(7)
    const xs = Array.from({ length: 5 }, a)
    expect(Array.from({ length: 5 }, b)).toEqual(xs)
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
  })

  it('is deterministic: same seed and day, same data; another seed, other data', async () => {
    for (const [s, a] of ACCOUNTS) expect(await all(s, a, 42)).toEqual(await all(s, a, 42))
    expect(await all('alice', 'acc_alice_wallet', 1)).not.toEqual(await all('alice', 'acc_alice_wallet', 2))
  })

  it('lists each person’s accounts with stable ids', async () => {
    const { dataSource } = createDemoData({ today: TODAY })
    expect(await dataSource.listAccounts('alice')).toEqual([
      { id: 'acc_alice_wallet', name: 'Everyday Wallet', type: 'wallet', currency: 'EUR' },
      { id: 'acc_alice_savings', name: 'Rainy Day Savings', type: 'savings', currency: 'EUR' },
    ])
    expect(await dataSource.listAccounts('bob')).toEqual([
      { id: 'acc_bob_wallet', name: "Bob's Wallet", type: 'wallet', currency: 'EUR' },
    ])
    expect(await dataSource.listAccounts('mallory')).toEqual([])
  })

  it('spans about two years ending on the reference day, with realistic variety', async () => {
    const txs = await all('alice', 'acc_alice_wallet')
    expect(txs.length).toBeGreaterThan(600)
    expect(txs[0]!.bookedAt.slice(0, 10)).toBe(TODAY)
    const oldest = Date.parse(txs.at(-1)!.bookedAt)
    const days = (Date.parse(`${TODAY}T00:00:00Z`) - oldest) / 86_400_000
    expect(days).toBeGreaterThan(700)
    expect(days).toBeLessThan(735)
    const categories = new Set(txs.map((t) => t.category))
    for (const c of ['income', 'housing', 'groceries', 'utilities', 'subscriptions', 'transfer', 'refund'])
      expect(categories, c).toContain(c)
    const salaries = txs.filter((t) => t.category === 'income')
    expect(salaries.length).toBeGreaterThanOrEqual(23)
    expect(salaries.length).toBeLessThanOrEqual(25)
    const savings = await all('alice', 'acc_alice_savings')
    expect(savings.some((t) => t.category === 'interest')).toBe(true)
    expect(savings.some((t) => t.category === 'transfer')).toBe(true)
  })

  it('marks only the last two days as pending', async () => {
    for (const [s, a] of ACCOUNTS) {
      for (const t of await all(s, a)) {
        const day = t.bookedAt.slice(0, 10)
        expect(t.status, `${t.id} ${day}`).toBe(day >= '2026-12-09' ? 'pending' : 'booked')
      }
    }
  })

  it('has two-decimal amounts and balances consistent with them', async () => {
    for (const [s, a] of ACCOUNTS) {
      const txs = (await all(s, a)).reverse() // oldest first
      for (const t of txs) {
        expect(t.amount).toMatch(/^-?\d+\.\d{2}$/)
        expect(t.balanceAfter).toMatch(/^-?\d+\.\d{2}$/)
        expect(t.accountId).toBe(a)
        expect(t.currency).toBe('EUR')
        expect(t.description).not.toBe('')
        expect(t.counterparty).not.toBe('')
      }
      for (let i = 1; i < txs.length; i++)
        expect(cents(txs[i]!.balanceAfter), txs[i]!.id).toBe(
          cents(txs[i - 1]!.balanceAfter) + cents(txs[i]!.amount),
        )
      expect(Math.min(...txs.map((t) => cents(t.balanceAfter)))).toBeGreaterThanOrEqual(0)
    }
    expect(formatAmount(-5)).toBe('-0.05')
    expect(formatAmount(123456)).toBe('1234.56')
  })

  it('transfers between Alice’s accounts mirror each other', async () => {
    const wallet = (await all('alice', 'acc_alice_wallet')).filter((t) => t.category === 'transfer')
    const savings = (await all('alice', 'acc_alice_savings')).filter((t) => t.category === 'transfer')
    expect(wallet.length).toBe(savings.length)
    const sum = (xs: HolderTransaction[]) => xs.reduce((n, t) => n + cents(t.amount), 0)
    expect(sum(wallet) + sum(savings)).toBe(0)
  })

  it('orders newest first by (bookedAt desc, id desc) with unique ids', async () => {
    for (const [s, a] of ACCOUNTS) {
      const txs = await all(s, a)
      expect(new Set(txs.map((t) => t.id)).size).toBe(txs.length)
      for (let i = 1; i < txs.length; i++) expect(key(txs[i - 1]!) > key(txs[i]!)).toBe(true)
    }
  })

  it('filters by an inclusive UTC date range', async () => {
    const { dataSource } = createDemoData({ today: TODAY })
    const full = await all('alice', 'acc_alice_wallet')
    const from = '2026-03-01'
    const to = '2026-03-25' // payday: there is a salary on the last day
    const expected = full.filter((t) => t.bookedAt.slice(0, 10) >= from && t.bookedAt.slice(0, 10) <= to)
    const got = await dataSource.listTransactions({
      subject: 'alice',
      accountId: 'acc_alice_wallet',
      from,
      to,
      limit: 10_000,
    })
    expect(got).toEqual(expected)
    expect(got.some((t) => t.bookedAt.startsWith('2026-03-01'))).toBe(true)
    expect(got.some((t) => t.bookedAt.startsWith('2026-03-25'))).toBe(true)
    // A single day.
    const day = await dataSource.listTransactions({
      subject: 'alice',
      accountId: 'acc_alice_wallet',
      from: '2026-03-01',
      to: '2026-03-01',
      limit: 100,
    })
    expect(day.length).toBeGreaterThan(0)
    expect(day.every((t) => t.bookedAt.startsWith('2026-03-01'))).toBe(true)
  })

  it('walks a period page by page with the cursor: no duplicates, no gaps, limit respected', async () => {
    const { dataSource } = createDemoData({ today: TODAY })
    const q = { subject: 'alice', accountId: 'acc_alice_wallet', from: '2026-01-15', to: '2026-06-14' }
    const expected = await dataSource.listTransactions({ ...q, limit: 10_000 })
    for (const limit of [1, 7, 50, 500]) {
      const walked: HolderTransaction[] = []
      let before: { bookedAt: string; id: string } | undefined
      for (let pages = 0; pages < 10_000; pages++) {
        const page = await dataSource.listTransactions({ ...q, limit, before })
        expect(page.length).toBeLessThanOrEqual(limit)
        if (page.length === 0) break
        walked.push(...page)
        const lastTx = page.at(-1)!
        before = { bookedAt: lastTx.bookedAt, id: lastTx.id }
      }
      expect(walked.map((t) => t.id)).toEqual(expected.map((t) => t.id))
    }
  })

  it('treats a cursor on an equal bookedAt by id', async () => {
    const { dataSource } = createDemoData({ today: TODAY })
    const full = await all('alice', 'acc_alice_wallet')
    const t = full[100]!
    const after = await dataSource.listTransactions({
      subject: 'alice',
      accountId: 'acc_alice_wallet',
      ...everything,
      before: { bookedAt: t.bookedAt, id: `${t.id}z` },
    })
    expect(after[0]!.id).toBe(t.id)
  })

  it('answers nothing for another person’s account or a bad query', async () => {
    const { dataSource } = createDemoData({ today: TODAY })
    expect(
      await dataSource.listTransactions({ subject: 'bob', accountId: 'acc_alice_wallet', ...everything }),
    ).toEqual([])
    expect(
      await dataSource.listTransactions({ subject: 'alice', accountId: 'acc_nope', ...everything }),
    ).toEqual([])
    expect(
      await dataSource.listTransactions({
        subject: 'alice',
        accountId: 'acc_alice_wallet',
        from: '2026-05-01',
        to: '2026-04-01',
        limit: 10,
      }),
    ).toEqual([])
    expect(
      await dataSource.listTransactions({
        subject: 'alice',
        accountId: 'acc_alice_wallet',
        ...everything,
        limit: 0,
      }),
    ).toEqual([])
  })

  it('reports the current balance as the latest running balance', async () => {
    const { dataSource } = createDemoData({ today: TODAY })
    const latest = (await all('alice', 'acc_alice_wallet'))[0]!
    expect(await dataSource.getBalance!('alice', 'acc_alice_wallet')).toEqual({
      amount: latest.balanceAfter,
      currency: 'EUR',
      asOf: latest.bookedAt,
    })
    expect(await dataSource.getBalance!('bob', 'acc_alice_wallet')).toBeNull()
  })

  it('defaults to the current UTC date and rejects a bad one', () => {
    expect(createDemoData().today).toBe(new Date().toISOString().slice(0, 10))
    expect(() => createDemoData({ today: '2026-02-30' })).toThrow()
  })
})

describe('Harbor Pay demo users', () => {
  it('verifies alice and bob and denies everything else', async () => {
    const { users } = createDemoData({ today: TODAY })
    expect(await users.verifyPassword('alice', 'alice')).toEqual({ subject: 'alice', name: 'Alice Martin' })
    expect(await users.verifyPassword('bob', 'bob')).toEqual({ subject: 'bob', name: 'Bob Chen' })
    expect(await users.verifyPassword('alice', 'bob')).toBeNull()
    expect(await users.verifyPassword('alice', '')).toBeNull()
    expect(await users.verifyPassword('mallory', 'mallory')).toBeNull()
    expect(await users.verifyPassword('', '')).toBeNull()
    expect(await users.verifyPassword(undefined as unknown as string, 'x')).toBeNull()
    expect(users.displayName('alice')).toBe('Alice Martin')
    expect(users.displayName('bob')).toBe('Bob Chen')
    expect(users.displayName('nobody')).toBeUndefined()
  })
})
