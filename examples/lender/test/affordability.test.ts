import { describe, expect, it } from 'vitest'
import {
  formatMoney,
  fromMonthlyTotals,
  monthsBetween,
  parseAmount,
  type SummaryTransaction,
  summarize,
} from '../src/affordability.ts'

let n = 0
const tx = (
  day: string,
  amount: string,
  category = 'groceries',
  extra: Partial<SummaryTransaction> = {},
): SummaryTransaction => ({
  id: `tx_${++n}`,
  account_id: 'acc_wallet',
  booked_at: `${day}T10:00:00.000Z`,
  amount,
  currency: 'EUR',
  category,
  ...extra,
})
const wallet = (balance?: string) => ({
  id: 'acc_wallet',
  name: 'Wallet',
  currency: 'EUR',
  ...(balance ? { balance: { amount: balance, currency: 'EUR', as_of: '2026-03-31T12:00:00Z' } } : {}),
})

describe('parseAmount', () => {
  it('turns decimal strings into integer cents without float rounding', () => {
    expect(parseAmount('12.50')).toBe(1250)
    expect(parseAmount('12.5')).toBe(1250)
    expect(parseAmount('-0.01')).toBe(-1)
    expect(parseAmount('100')).toBe(10000)
    expect(parseAmount('0.29')).toBe(29) // 0.29 * 100 = 28.999… as a float
    expect(parseAmount('-1234567.89')).toBe(-123456789)
  })
  it('refuses anything else', () => {
    for (const bad of ['', '1e3', '12.345', '--1', '1,00', 'abc', '.5', '+1'])
      expect(() => parseAmount(bad)).toThrow(RangeError)
  })
})

describe('monthsBetween', () => {
  it('lists every month, across a year boundary', () => {
    expect(monthsBetween('2025-11-23', '2026-02-01')).toEqual(['2025-11', '2025-12', '2026-01', '2026-02'])
    expect(monthsBetween('2026-03-05', '2026-03-09')).toEqual(['2026-03'])
  })
})

describe('summarize', () => {
  const quarter = { from: '2026-01-01', to: '2026-03-31' }
  const history = [
    tx('2026-01-25', '3000.00', 'income'),
    tx('2026-02-25', '3000.00', 'income'),
    tx('2026-03-25', '3300.00', 'income'),
    tx('2026-01-01', '-1000.00', 'housing'),
    tx('2026-02-01', '-1000.00', 'housing'),
    tx('2026-03-01', '-1000.00', 'housing'),
    tx('2026-02-10', '-120.00', 'shopping'),
    tx('2026-02-20', '120.00', 'refund'), // a refund cancels spending, it is not income
    tx('2026-01-26', '-400.00', 'transfer'), // to savings: not spending
    tx('2026-03-10', '200.00', 'transfer'), // from savings: not income
    tx('2026-03-12', '-50.00', 'eating_out', { currency: 'USD' }),
    tx('2026-03-13', '-20.00', 'eating_out', { amount: undefined }),
  ]

  it('averages income and spending over whole months, leaving out transfers; refunds reduce spending', () => {
    const s = summarize({ accounts: [wallet()], transactions: history, period: quarter })
    expect(s.currency).toBe('EUR')
    expect(s.monthsCounted).toBe(3)
    expect(s.months.map((m) => [m.month, m.income, m.spending, m.net])).toEqual([
      ['2026-01', 300000, 100000, 200000],
      ['2026-02', 300000, 100000, 200000],
      ['2026-03', 330000, 100000, 230000],
    ])
    expect(s.averageMonthlyIncome).toBe(310000)
    expect(s.averageMonthlySpending).toBe(100000)
    expect(s.averageMonthlyNet).toBe(210000)
    expect(s.transactionsCounted).toBe(8)
    expect(s.excluded).toEqual({ transfers: 2, otherCurrency: 1, incomplete: 1 })
    expect(s.currentBalance).toBeUndefined()
    expect(s.months.every((m) => m.closingBalance === undefined)).toBe(true)
  })

  it('suggests a third of the monthly surplus in whole units, never a negative one', () => {
    expect(
      summarize({ accounts: [wallet()], transactions: history, period: quarter }).suggestedMaxRepayment,
    ).toBe(70000)
    const broke = summarize({
      accounts: [wallet()],
      transactions: [tx('2026-01-05', '-10.00')],
      period: quarter,
    })
    expect(broke.averageMonthlyNet).toBeLessThan(0)
    expect(broke.suggestedMaxRepayment).toBe(0)
  })

  it('works month-end balances backwards from the current balance (transfers included)', () => {
    const s = summarize({ accounts: [wallet('5000.00')], transactions: history, period: quarter })
    expect(s.currentBalance).toBe(500000)
    // March moved +3300 -1000 +200 = +2500 (the USD and the amount-less ones are not counted).
    // February moved +3000 -1000 -120 +120 = +2000.
    expect(s.months.map((m) => m.closingBalance)).toEqual([500000 - 250000 - 200000, 500000 - 250000, 500000])
  })

  it('only walks back accounts that shared a balance', () => {
    const savings = { id: 'acc_savings', name: 'Savings', currency: 'EUR' }
    const s = summarize({
      accounts: [wallet('100.00'), savings],
      transactions: [
        tx('2026-03-02', '-30.00'),
        tx('2026-03-03', '500.00', 'interest', { account_id: 'acc_savings' }),
      ],
      period: { from: '2026-02-01', to: '2026-03-31' },
    })
    expect(s.months.map((m) => m.closingBalance)).toEqual([13000, 10000])
    expect(s.averageMonthlyIncome).toBe(25000) // both accounts count towards income
  })

  it('marks partial months and leaves them out of the averages', () => {
    const s = summarize({
      accounts: [wallet()],
      transactions: [
        tx('2025-12-30', '9999.00', 'income'),
        tx('2026-01-25', '2000.00', 'income'),
        tx('2026-02-03', '-10.00'),
      ],
      period: { from: '2025-12-15', to: '2026-02-10' },
    })
    expect(s.months.map((m) => [m.month, m.complete])).toEqual([
      ['2025-12', false],
      ['2026-01', true],
      ['2026-02', false],
    ])
    expect(s.monthsCounted).toBe(1)
    expect(s.averageMonthlyIncome).toBe(200000)
    expect(s.averageMonthlySpending).toBe(0)
  })

  it('scales a period shorter than a month to an average month', () => {
    const s = summarize({
      accounts: [wallet()],
      transactions: [tx('2026-01-12', '1000.00', 'income'), tx('2026-01-15', '-100.00')],
      period: { from: '2026-01-10', to: '2026-01-19' }, // 10 days
    })
    expect(s.monthsCounted).toBe(0)
    expect(s.averageMonthlyIncome).toBe(304375) // 1000 × 30.4375 / 10
    expect(s.averageMonthlySpending).toBe(30438)
  })

  it('ignores transactions outside the period and in other currencies', () => {
    const s = summarize({
      accounts: [wallet()],
      transactions: [
        tx('2025-12-31', '500.00', 'income'),
        tx('2026-01-05', '70.00', 'income', { currency: 'GBP' }),
      ],
      period: { from: '2026-01-01', to: '2026-01-31' },
    })
    expect(s.averageMonthlyIncome).toBe(0)
    expect(s.excluded).toEqual({ transfers: 0, otherCurrency: 1, incomplete: 1 })
  })

  it('picks the accounts’ main currency', () => {
    const s = summarize({
      accounts: [
        { id: 'a', name: 'A', currency: 'GBP' },
        { id: 'b', name: 'B', currency: 'GBP', balance: { amount: '10.00', currency: 'GBP' } },
        { id: 'c', name: 'C', currency: 'EUR', balance: { amount: '99.00', currency: 'EUR' } },
      ],
      transactions: [],
      period: quarter,
    })
    expect(s.currency).toBe('GBP')
    expect(s.currentBalance).toBe(1000)
  })

  it('refuses a malformed period', () => {
    expect(() =>
      summarize({ accounts: [], transactions: [], period: { from: '2026-02-01', to: '2026-01-01' } }),
    ).toThrow(RangeError)
    expect(() =>
      summarize({ accounts: [], transactions: [], period: { from: 'yesterday', to: '2026-01-01' } }),
    ).toThrow(RangeError)
  })
})

describe('fromMonthlyTotals', () => {
  const totals = {
    period: { from: '2025-12-10', to: '2026-03-15' },
    currency: 'EUR',
    months: [
      {
        month: '2025-12',
        partial: true,
        income: '2500.00',
        spending: '900.00',
        month_end_balance: '1600.00',
      },
      {
        month: '2026-01',
        partial: false,
        income: '3000.00',
        spending: '1800.00',
        month_end_balance: '2800.00',
        overdraft_days: 0,
      },
      {
        month: '2026-02',
        partial: false,
        income: '3200.00',
        spending: '2600.50',
        month_end_balance: '3399.50',
        overdraft_days: 2,
      },
      { month: '2026-03', partial: true, income: '0.00', spending: '200.00', month_end_balance: '3199.50' },
    ],
    income_regularity: { months: 2, months_within_15_percent: 2, median_income: '3100.00' },
  }

  it('averages the holder’s whole months only and takes the last month-end balance as current', () => {
    const s = fromMonthlyTotals(totals)
    expect(s.monthsCounted).toBe(2)
    expect(s.averageMonthlyIncome).toBe(310000)
    expect(s.averageMonthlySpending).toBe(220025)
    expect(s.averageMonthlyNet).toBe(89975)
    expect(s.suggestedMaxRepayment).toBe(29900)
    expect(s.currentBalance).toBe(319950)
    expect(s.months.map((m) => m.complete)).toEqual([false, true, true, false])
    expect(s.months[2]).toMatchObject({ net: 59950, closingBalance: 339950, overdraftDays: 2 })
    expect(s.incomeRegularity).toEqual({ months: 2, within: 2 })
  })

  it('works without the balance metric, and refuses a malformed figure', () => {
    const noBalances = fromMonthlyTotals({
      ...totals,
      months: totals.months.map(({ month_end_balance: _b, ...m }) => m),
    })
    expect(noBalances.currentBalance).toBeUndefined()
    expect(() =>
      fromMonthlyTotals({ ...totals, months: [{ month: '2026-01', partial: false, income: '1e3' }] }),
    ).toThrow(RangeError)
  })
})

describe('formatMoney', () => {
  it('formats cents as currency', () => {
    expect(formatMoney(123456, 'EUR')).toBe('€1,234.56')
    expect(formatMoney(-1200, 'EUR')).toBe('-€12.00')
  })
})
