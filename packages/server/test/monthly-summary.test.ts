/**
 * The monthly-summary rules (docs/affordability.md) on small hand-made ledgers whose answers are
 * worked out by hand: pairing of own-account transfers, netted refunds, pending rows, UTC months,
 * opening balances, overdrawn days and the median of an even number of months.
 */
import { AFFORDABILITY_METRICS } from '@consentry/core'
import { describe, expect, it } from 'vitest'
import { defaultCategorize, monthlySummary } from '../src/insights/monthly-summary.ts'
import type { HolderTransaction } from '../src/resource/data-source.ts'

let n = 0
const tx = (
  accountId: string,
  bookedAt: string,
  amount: string,
  balanceAfter: string,
  more: Partial<HolderTransaction> = {},
): HolderTransaction => ({
  id: `t${String(++n).padStart(4, '0')}`,
  accountId,
  bookedAt,
  amount,
  currency: 'EUR',
  description: 'x',
  counterparty: 'x',
  category: 'other',
  status: 'booked',
  balanceAfter,
  ...more,
})

const accounts = [
  { id: 'a', currency: 'EUR' },
  { id: 'b', currency: 'EUR' },
]
const all = [...AFFORDABILITY_METRICS]

describe('monthlySummary', () => {
  it('leaves out paired own-account transfers, nets refunds, ignores pending rows and books by UTC date', () => {
    const transactions = [
      tx('a', '2026-01-05T10:00:00Z', '1000.00', '1100.00', { category: 'salary' }),
      tx('a', '2026-01-06T10:00:00Z', '-200.00', '900.00', { category: 'transfer' }),
      tx('b', '2026-01-06T10:00:30Z', '200.00', '200.00', { category: 'transfer' }),
      tx('a', '2026-01-07T10:00:00Z', '-50.00', '850.00', { category: 'shopping' }),
      tx('a', '2026-01-09T10:00:00Z', '20.00', '870.00', { category: 'refund' }),
      // Pending: in no figure.
      tx('a', '2026-01-10T10:00:00Z', '-999.00', '-129.00', { status: 'pending' }),
      // An unpaired transfer (its other leg is on an account not chosen) counts as spending.
      tx('b', '2026-01-20T10:00:00Z', '-30.00', '170.00', { category: 'transfer' }),
      // 31 Jan 23:30 at UTC−2 is 1 Feb in UTC.
      tx('a', '2026-01-31T23:30:00-02:00', '-10.00', '860.00'),
    ]
    const s = monthlySummary({
      period: { from: '2026-01-01', to: '2026-02-15' },
      accounts,
      currency: 'EUR',
      transactions,
      metrics: all,
    })
    expect(s.months).toEqual([
      {
        month: '2026-01',
        partial: false,
        income: '1000.00',
        spending: '60.00', // 50 − 20 refund + 30 unpaired transfer
        month_end_balance: '1040.00', // 870 + 170
        overdraft_days: 0,
      },
      {
        month: '2026-02',
        partial: true,
        income: '0.00',
        spending: '10.00',
        month_end_balance: '1030.00',
        overdraft_days: 0,
      },
    ])
    expect(s.income_regularity).toEqual({ months: 1, months_within_15_percent: 1, median_income: '1000.00' })
  })

  it('pairs a transfer with the closest opposite leg within 24 hours on another account only', () => {
    const transactions = [
      tx('a', '2026-03-01T08:00:00Z', '-100.00', '0.00', { category: 'transfer' }),
      // Same account: never a pair.
      tx('a', '2026-03-01T09:00:00Z', '100.00', '100.00', { category: 'transfer' }),
      // Too far away (more than 24 h).
      tx('b', '2026-03-02T08:00:01Z', '100.00', '100.00', { category: 'transfer' }),
      // Closest on another account: the pair.
      tx('b', '2026-03-01T20:00:00Z', '100.00', '200.00', { category: 'transfer' }),
    ].sort((x, y) => (x.bookedAt < y.bookedAt ? -1 : 1))
    const s = monthlySummary({
      period: { from: '2026-03-01', to: '2026-03-31' },
      accounts,
      currency: 'EUR',
      transactions,
      metrics: ['monthly_income', 'monthly_spending'],
    })
    // Left over: +100 on a (same account) and +100 on b (too late) — both income.
    expect(s.months[0]).toEqual({ month: '2026-03', partial: false, income: '200.00', spending: '0.00' })
    expect(s.income_regularity).toBeUndefined()
  })

  it('counts days an account was below zero at any moment, and carries balances through empty months', () => {
    const transactions = [
      tx('a', '2026-04-10T09:00:00Z', '-150.00', '-50.00'), // opening 100.00, overdrawn from the 10th
      tx('a', '2026-04-12T09:00:00Z', '80.00', '30.00'), // back above zero on the 12th (still counts)
      tx('a', '2026-06-02T09:00:00Z', '-10.00', '20.00'),
    ]
    const s = monthlySummary({
      period: { from: '2026-04-01', to: '2026-06-30' },
      accounts: [{ id: 'a', currency: 'EUR' }],
      currency: 'EUR',
      transactions,
      metrics: ['month_end_balance', 'overdraft_days', 'monthly_income'],
    })
    expect(s.months).toEqual([
      { month: '2026-04', partial: false, income: '80.00', month_end_balance: '30.00', overdraft_days: 3 },
      { month: '2026-05', partial: false, income: '0.00', month_end_balance: '30.00', overdraft_days: 0 },
      { month: '2026-06', partial: false, income: '0.00', month_end_balance: '20.00', overdraft_days: 0 },
    ])
  })

  it('uses the balance before the period for an account without booked transactions in it (0 when unknown)', () => {
    const s = monthlySummary({
      period: { from: '2026-05-15', to: '2026-05-20' },
      accounts: [
        { id: 'a', currency: 'EUR' },
        { id: 'b', currency: 'EUR' },
        { id: 'c', currency: 'EUR' },
      ],
      currency: 'EUR',
      transactions: [],
      openingBalances: { a: '-5.25', b: '100.5' },
      metrics: ['month_end_balance', 'overdraft_days'],
    })
    expect(s.months).toEqual([
      { month: '2026-05', partial: true, month_end_balance: '95.25', overdraft_days: 6 },
    ])
  })

  it('takes the median of an even number of whole months exactly, and ±15 % inclusive', () => {
    // Incomes 1000.00, 1000.01, 1150.00, 850.00 → median (1000.00 + 1000.01) / 2 = 1000.005
    const incomes = ['1000.00', '1000.01', '1150.00', '850.00']
    const transactions = incomes.map((a, i) =>
      tx('a', `2026-0${i + 1}-10T12:00:00Z`, a, '0.00', { category: 'salary' }),
    )
    const s = monthlySummary({
      period: { from: '2026-01-01', to: '2026-04-30' },
      accounts: [{ id: 'a', currency: 'EUR' }],
      currency: 'EUR',
      transactions,
      metrics: ['income_regularity'],
    })
    // 1150.00 − 1000.005 = 149.995 ≤ 150.00075 (in); 1000.005 − 850.00 = 150.005 > 150.00075 (out).
    expect(s.income_regularity).toEqual({ months: 4, months_within_15_percent: 3, median_income: '1000.005' })
    expect(s.months.every((m) => Object.keys(m).join() === 'month,partial')).toBe(true)
  })

  it('keeps more decimals than two when the holder has them, and never rounds', () => {
    const s = monthlySummary({
      period: { from: '2026-01-01', to: '2026-01-31' },
      accounts: [{ id: 'a', currency: 'KWD' }],
      currency: 'KWD',
      transactions: [
        tx('a', '2026-01-02T00:00:00Z', '1.005', '1.005', { currency: 'KWD' }),
        tx('a', '2026-01-03T00:00:00Z', '-0.5', '0.505', { currency: 'KWD' }),
        // Another currency than the account's: in no figure.
        tx('a', '2026-01-04T00:00:00Z', '-7', '0.505', { currency: 'USD' }),
      ],
      metrics: ['monthly_income', 'monthly_spending'],
    })
    expect(s.months[0]).toMatchObject({ income: '1.005', spending: '0.500' })
  })

  it('lets the holder override the categorisation, and refuses what it cannot sum exactly', () => {
    const transactions = [
      tx('a', '2026-01-02T00:00:00Z', '500.00', '500.00', { category: 'cash_deposit' }),
      tx('a', '2026-01-03T00:00:00Z', '-40.00', '460.00', { category: 'groceries' }),
    ]
    const base = {
      period: { from: '2026-01-01', to: '2026-01-31' },
      accounts: [{ id: 'a', currency: 'EUR' }],
      currency: 'EUR',
      metrics: ['monthly_income', 'monthly_spending'] as const,
    }
    const s = monthlySummary({
      ...base,
      transactions,
      categorize: (t) => (t.category === 'cash_deposit' ? 'ignore' : defaultCategorize(t)),
    })
    expect(s.months[0]).toMatchObject({ income: '0.00', spending: '40.00' })
    expect(() => monthlySummary({ ...base, transactions, categorize: () => 'salary' as never })).toThrow(
      TypeError,
    )
    expect(() =>
      monthlySummary({ ...base, transactions: [tx('a', '2026-01-02T00:00:00Z', '1e3', '0')] }),
    ).toThrow(/not a decimal/)
    expect(defaultCategorize(tx('a', '2026-01-02T00:00:00Z', '-0.00', '0'))).toBe('ignore')
  })
})
