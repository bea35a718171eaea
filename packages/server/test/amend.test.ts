/**
 * The amendment rules as pure functions, for three kinds of data type: transaction history (scope
 * `accounts`, `datatypes`, `fields`), a marketplace's sales (scope `stores`) and an affordability
 * summary (no datatypes, fields member `metrics`, absent = all).
 */
import type { AuthorizationDetail } from '@consentry/core'
import { describe, expect, it } from 'vitest'
import type { DataTypeWords } from '../src/data-types/define.ts'
import {
  amendedExpiry,
  type DetailShape,
  diffDetails,
  diffLines,
  isNarrowing,
  mergeDetails,
  mergeProblem,
  resolveScope,
  spanText,
} from '../src/grants/amend.ts'
import { dateText } from '../src/grants/describe.ts'

const DAY = 86_400_000
const NOW = Date.parse('2026-12-01T12:00:00Z')

const SHAPES: Record<string, DetailShape> = {
  transaction_history: { scope: 'accounts', fields: 'fields' },
  marketplace_sales: { scope: 'stores', fields: 'fields' },
  affordability_summary: { scope: 'accounts', fields: 'metrics' },
}
const shape = (type: string) => SHAPES[type] ?? { fields: 'fields' }

const WORDS: Record<string, DataTypeWords> = {
  transaction_history: {
    title: 'Transaction history',
    scope: { legend: 'Accounts', noun: 'account', plural: 'accounts' },
    datatypes: { accounts: 'Account details', balances: 'Balances', transactions: 'Transactions' },
    fields: { booked_at: 'Date', amount: 'Amount', description: 'Description' },
    fieldsByDatatype: { transactions: ['booked_at', 'amount', 'description'] },
  },
  marketplace_sales: {
    title: 'Sales and payouts',
    scope: { legend: 'Stores', noun: 'store', plural: 'stores' },
    datatypes: { settlements: 'Settlements (payouts)', orders: 'Orders', refunds: 'Refunds' },
    fields: { ordered_at: 'Order date', total: 'Order total', payout_date: 'Payout date' },
  },
  affordability_summary: {
    title: 'Monthly totals',
    scope: { legend: 'Accounts', noun: 'account', plural: 'accounts' },
    fields: { monthly_income: 'Income', monthly_spending: 'Spending', overdraft_days: 'Days overdrawn' },
  },
}
const NAMES: Record<string, string> = {
  acc_w: 'Everyday Wallet',
  acc_s: 'Rainy Day Savings',
  st_1: "Sam's Outdoor Gear",
  st_2: "Sam's Outdoor Gear UK",
}
const context = {
  words: (type: string) => WORDS[type],
  shape,
  scopeName: (_type: string, id: string) => NAMES[id] ?? id,
  purposeLabel: (id: string) => ({ credit_assessment: 'Credit assessment' })[id] ?? id,
  dateText,
  now: NOW,
}

const th = (over: Record<string, unknown> = {}): AuthorizationDetail => ({
  type: 'transaction_history',
  datatypes: ['accounts', 'transactions'],
  accounts: ['acc_w'],
  fields: ['booked_at', 'amount', 'description'],
  period: { lookback_days: 90 },
  purpose: 'credit_assessment',
  expires_in: 30 * 86400,
  max_reads_per_day: 4,
  ...over,
})
const sales = (over: Record<string, unknown> = {}): AuthorizationDetail => ({
  type: 'marketplace_sales',
  datatypes: ['settlements'],
  stores: ['st_1'],
  fields: ['payout_date'],
  period: { from: '2026-01-01', to: '2026-03-31' },
  purpose: 'payment_processing',
  expires_in: 30 * 86400,
  max_reads_per_day: 4,
  ...over,
})
const afford = (over: Record<string, unknown> = {}): AuthorizationDetail => ({
  type: 'affordability_summary',
  accounts: ['acc_w'],
  period: { lookback_days: 365 },
  purpose: 'credit_assessment',
  expires_in: 30 * 86400,
  max_reads_per_day: 4,
  ...over,
})
const lines = (before: AuthorizationDetail[], after: AuthorizationDetail[], eb = NOW, ea = NOW) =>
  diffLines(diffDetails(before, after, eb, ea, context))

describe('merge', () => {
  it('unites scope, datatypes and fields; a longer period and more reads only when asked', () => {
    const merged = mergeDetails(
      [th()],
      [
        th({
          accounts: ['acc_s'],
          datatypes: ['accounts', 'balances'],
          period: { lookback_days: 180 },
          fields: ['amount'],
        }),
      ],
      shape,
      [['type', 'accounts', 'datatypes', 'period', 'fields', 'purpose']],
    )
    expect(merged).toEqual([
      th({
        accounts: ['acc_w', 'acc_s'],
        datatypes: ['accounts', 'transactions', 'balances'],
        period: { lookback_days: 180 },
      }),
    ])
    // expires_in and max_reads_per_day were defaults, not asked: the granted ones stay.
    const asked = mergeDetails([th()], [th({ max_reads_per_day: 24 })], shape, [
      ['type', 'max_reads_per_day'],
    ])
    expect(asked[0]!.max_reads_per_day).toBe(24)
    const notAsked = mergeDetails([th()], [th({ max_reads_per_day: 24 })], shape, [['type']])
    expect(notAsked[0]!.max_reads_per_day).toBe(4)
    // A shorter period asked in a merge never shortens.
    expect(mergeDetails([th()], [th({ period: { lookback_days: 30 } })], shape)[0]!.period).toEqual({
      lookback_days: 90,
    })
  })

  it('works on stores and dates (hull), and on metrics left open (all stay all)', () => {
    const [s] = mergeDetails(
      [sales()],
      [sales({ stores: ['st_2'], datatypes: ['orders'], period: { from: '2025-10-01', to: '2026-02-28' } })],
      shape,
    )
    expect(s).toMatchObject({
      stores: ['st_1', 'st_2'],
      datatypes: ['settlements', 'orders'],
      period: { from: '2025-10-01', to: '2026-03-31' },
    })
    expect(mergeDetails([afford()], [afford({ metrics: ['monthly_income'] })], shape)[0]).not.toHaveProperty(
      'metrics',
    )
    expect(
      mergeDetails(
        [afford({ metrics: ['monthly_income'] })],
        [afford({ metrics: ['overdraft_days'] })],
        shape,
      )[0]!.metrics,
    ).toEqual(['monthly_income', 'overdraft_days'])
    // A type not granted yet is added as asked.
    expect(mergeDetails([th()], [afford()], shape).map((d) => d.type)).toEqual([
      'transaction_history',
      'affordability_summary',
    ])
  })

  it('refuses to change the purpose or to mix rolling and fixed periods', () => {
    expect(mergeProblem([th()], [th({ purpose: 'account_verification' })])).toMatch(/purpose/)
    expect(mergeProblem([th()], [th({ period: { from: '2026-01-01', to: '2026-02-01' } })])).toMatch(
      /rolling/,
    )
    expect(mergeProblem([th()], [th({ accounts: ['acc_s'] })])).toBeNull()
  })

  it('resolveScope offers every owned item when the request leaves the scope to the person', () => {
    const { accounts: _a, ...open } = th()
    expect(resolveScope([open as AuthorizationDetail], shape, () => ['acc_w', 'acc_s'])[0]!.accounts).toEqual(
      ['acc_w', 'acc_s'],
    )
  })
})

describe('the change in words', () => {
  it('transaction history: "Adds: 3 more months of history, Rainy Day Savings", "Removes: Description"', () => {
    expect(
      lines(
        [th()],
        [
          th({
            period: { lookback_days: 180 },
            accounts: ['acc_w', 'acc_s'],
            fields: ['booked_at', 'amount'],
          }),
        ],
      ),
    ).toEqual(['Adds: 3 more months of history, Rainy Day Savings', 'Removes: Description'])
    expect(lines([th()], [th({ period: { lookback_days: 30 }, max_reads_per_day: 2 })])).toEqual([
      'Removes: the oldest 2 months of history, 2 of the 4 checks a day without you',
    ])
    expect(lines([th()], [th({ purpose: 'account_verification' })])).toEqual([
      'Changes: why: account_verification (was Credit assessment)',
    ])
    expect(lines([th()], [th()])).toEqual([])
  })

  it('a marketplace: stores by name, datatypes and fields by label, dates as ranges', () => {
    expect(
      lines(
        [sales()],
        [
          sales({
            stores: ['st_1', 'st_2'],
            datatypes: ['settlements', 'orders'],
            fields: ['payout_date', 'ordered_at'],
            period: { from: '2026-02-01', to: '2026-06-30' },
          }),
        ],
      ),
    ).toEqual([
      "Adds: history from 1 Apr 2026 to 30 Jun 2026, Sam's Outdoor Gear UK, Orders, Order date",
      'Removes: history from 1 Jan 2026 to 31 Jan 2026',
    ])
  })

  it('an affordability summary: metrics open means all of them; whole types added or removed by title', () => {
    expect(lines([afford()], [afford({ metrics: ['monthly_income'] })])).toEqual([
      'Removes: Spending, Days overdrawn',
    ])
    expect(lines([th()], [th(), afford()])).toEqual(['Adds: Monthly totals'])
    expect(lines([th(), afford()], [th()])).toEqual(['Removes: Monthly totals'])
    // With several types, each item says which.
    expect(lines([th(), afford()], [th({ accounts: ['acc_s'] }), afford()])).toEqual([
      'Adds: Transaction history: Rainy Day Savings',
      'Removes: Transaction history: Everyday Wallet',
    ])
  })

  it('the end of access: later adds, earlier removes (whole days)', () => {
    expect(lines([th()], [th()], NOW + 10 * DAY, NOW + 40 * DAY)).toEqual([
      'Adds: access until 10 Jan 2027 (instead of 11 Dec 2026)',
    ])
    expect(lines([th()], [th()], NOW + 40 * DAY, NOW + 10 * DAY)).toEqual([
      'Removes: access after 11 Dec 2026',
    ])
    expect(lines([th()], [th()], NOW + 10 * DAY, NOW + 10 * DAY + 1000)).toEqual([])
  })

  it('spans read as people say them', () => {
    expect([spanText(90, true), spanText(30), spanText(365), spanText(14), spanText(10)]).toEqual([
      '3 more months',
      '1 month',
      '1 year',
      '2 weeks',
      '10 days',
    ])
  })
})

describe('isNarrowing', () => {
  const narrows = (a: AuthorizationDetail[], b: AuthorizationDetail[], ea = NOW, eb = NOW) =>
    isNarrowing(a, b, ea, eb, shape)
  it('allows less of everything', () => {
    expect(narrows([th({ accounts: ['acc_w', 'acc_s'] })], [th()])).toBe(true)
    expect(
      narrows([th()], [th({ fields: ['amount'], period: { lookback_days: 30 }, max_reads_per_day: 0 })]),
    ).toBe(true)
    expect(narrows([sales()], [sales({ period: { from: '2026-02-01', to: '2026-03-31' } })])).toBe(true)
    expect(narrows([afford()], [afford({ metrics: ['monthly_income'] })])).toBe(true)
    expect(narrows([th()], [th()], NOW, NOW - DAY)).toBe(true)
  })
  it('refuses anything wider or different', () => {
    expect(narrows([th()], [th({ accounts: ['acc_w', 'acc_s'] })])).toBe(false)
    expect(narrows([th()], [th({ fields: ['amount', 'category'] })])).toBe(false)
    expect(narrows([th()], [th({ period: { lookback_days: 91 } })])).toBe(false)
    expect(narrows([th()], [th({ period: { from: '2026-11-01', to: '2026-11-30' } })])).toBe(false)
    expect(narrows([th()], [th({ max_reads_per_day: 5 })])).toBe(false)
    expect(narrows([th()], [th({ purpose: 'account_verification' })])).toBe(false)
    expect(narrows([th()], [th(), afford()])).toBe(false)
    expect(narrows([afford({ metrics: ['monthly_income'] })], [afford()])).toBe(false)
    expect(narrows([th()], [th()], NOW, NOW + 1)).toBe(false)
  })
})

describe('amendedExpiry', () => {
  const grant = { createdAt: NOW - 100 * DAY, expiresAt: NOW + 10 * DAY }
  const rule = { maxGrantS: 365 * 86400, capFrom: 'renewal' as const }
  it('replace sets the asked lifetime from now; merge only moves later, and only when asked', () => {
    expect(amendedExpiry('replace', grant, [th({ expires_in: 5 * 86400 })], NOW, rule)).toBe(NOW + 5 * DAY)
    expect(amendedExpiry('merge', grant, [th({ expires_in: 5 * 86400 })], NOW, rule)).toBe(grant.expiresAt)
    expect(amendedExpiry('merge', grant, [th({ expires_in: 50 * 86400 })], NOW, rule)).toBe(NOW + 50 * DAY)
    expect(amendedExpiry('merge', grant, [th({ expires_in: 50 * 86400 })], NOW, rule, [['type']])).toBe(
      grant.expiresAt,
    )
  })
  it('caps from the renewal by default, or from the first consent', () => {
    const ask = [th({ expires_in: 3650 * 86400 })]
    expect(amendedExpiry('replace', grant, ask, NOW, rule)).toBe(NOW + 365 * DAY)
    expect(amendedExpiry('replace', grant, ask, NOW, { ...rule, capFrom: 'grant' })).toBe(
      grant.createdAt + 365 * DAY,
    )
  })
})
