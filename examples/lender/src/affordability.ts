/**
 * Beacon Lending's affordability summary: pure arithmetic over what Harbor Pay shared (accounts,
 * balances, transactions and the period actually served). No I/O, no clock: the same input always
 * gives the same summary. Money is integer cents throughout; amounts arrive as decimal strings.
 *
 * Rules (kept deliberately simple and explainable to the borrower):
 * - Income: money in, except transfers between the person's own accounts and refunds.
 * - Spending: money out, except transfers between own accounts; refunds reduce spending.
 * - Transfers (`category: transfer`) are left out of income and spending, but still move balances.
 * - Monthly averages use whole calendar months inside the period; with none, the period is scaled to
 *   an average month (30.4375 days).
 * - Month-end balances are worked backwards from the current balance of the accounts that shared one.
 * - One currency: the accounts' main currency; anything in another currency is counted as excluded.
 */

export interface SummaryAccount {
  id: string
  name: string
  type?: string
  currency: string
  balance?: { amount: string; currency: string; as_of?: string }
}

export interface SummaryTransaction {
  id: string
  account_id: string
  booked_at?: string
  amount?: string
  currency?: string
  category?: string
}

export interface SummaryInput {
  accounts: readonly SummaryAccount[]
  transactions: readonly SummaryTransaction[]
  /** The period Harbor Pay served, inclusive `YYYY-MM-DD` dates. */
  period: { from: string; to: string }
}

export interface MonthSummary {
  /** `YYYY-MM`. */
  month: string
  /** Whether the whole calendar month lies inside the period. */
  complete: boolean
  income: number
  spending: number
  net: number
  /** Balance at the end of the month (or now, for the current month); absent without balances. */
  closingBalance?: number
  /** Days the accounts were overdrawn (from the holder's monthly totals only). */
  overdraftDays?: number
}

export interface AffordabilitySummary {
  currency: string
  period: { from: string; to: string }
  months: MonthSummary[]
  /** How many whole months the averages are taken over (0: scaled from a shorter period). */
  monthsCounted: number
  averageMonthlyIncome: number
  averageMonthlySpending: number
  averageMonthlyNet: number
  /** Sum of the shared balances in `currency`; absent if no balance was shared. */
  currentBalance?: number
  /** Indicative: a third of the average monthly surplus, never negative. */
  suggestedMaxRepayment: number
  /** Transactions that went into income/spending. */
  transactionsCounted: number
  /** Left out: transfers between own accounts, other currencies, and rows without a date/amount or outside the period. */
  excluded: { transfers: number; otherCurrency: number; incomplete: number }
  /** Whole months, and how many had income within ±15 % of the median (from the holder's monthly totals only). */
  incomeRegularity?: { months: number; within: number }
}

const AMOUNT_RE = /^(-)?(\d{1,15})(?:\.(\d{1,2}))?$/
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/
const AVERAGE_MONTH_DAYS = 365.25 / 12
const DAY = 86_400_000

/** "-12.5" → -1250. Throws on anything that is not a plain decimal amount. */
export function parseAmount(value: string): number {
  const m = AMOUNT_RE.exec(value.trim())
  if (!m) throw new RangeError(`not an amount: ${JSON.stringify(value)}`)
  const cents = Number(m[2]) * 100 + Number((m[3] ?? '0').padEnd(2, '0'))
  return m[1] ? -cents : cents
}

/** Cents → "€1,234.56" (or "-€12.00"). */
export function formatMoney(cents: number, currency: string, locale = 'en-IE'): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(cents / 100)
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`
  }
}

const monthOf = (date: string) => date.slice(0, 7)

/** Every `YYYY-MM` from the month of `from` to the month of `to`, in order. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = []
  let y = Number(from.slice(0, 4))
  let m = Number(from.slice(5, 7))
  const end = monthOf(to)
  for (let guard = 0; guard < 1200; guard++) {
    const key = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`
    out.push(key)
    if (key >= end) break
    m++
    if (m > 12) {
      m = 1
      y++
    }
  }
  return out
}

function lastDayOf(month: string): string {
  const y = Number(month.slice(0, 4))
  const m = Number(month.slice(5, 7))
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10)
}

function daysInclusive(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY) + 1
}

/** The most common account currency (ties: the first account's). */
function mainCurrency(input: SummaryInput): string {
  const counts = new Map<string, number>()
  for (const a of input.accounts) counts.set(a.currency, (counts.get(a.currency) ?? 0) + 1)
  if (counts.size === 0)
    for (const t of input.transactions)
      if (t.currency) counts.set(t.currency, (counts.get(t.currency) ?? 0) + 1)
  let best = input.accounts[0]?.currency ?? 'EUR'
  for (const [c, n] of counts) if (n > (counts.get(best) ?? 0)) best = c
  return best
}

/** Compute the affordability summary. Throws RangeError on a malformed period. */
export function summarize(input: SummaryInput): AffordabilitySummary {
  const { from, to } = input.period
  if (!DATE_RE.test(from) || !DATE_RE.test(to) || from > to)
    throw new RangeError('period must be from ≤ to, as YYYY-MM-DD')
  const currency = mainCurrency(input)
  const monthKeys = monthsBetween(from, to)
  const months = new Map<string, MonthSummary>(
    monthKeys.map((month) => [
      month,
      { month, complete: `${month}-01` >= from && lastDayOf(month) <= to, income: 0, spending: 0, net: 0 },
    ]),
  )
  const excluded = { transfers: 0, otherCurrency: 0, incomplete: 0 }
  let counted = 0

  // Balances: which accounts shared one (in the main currency), and their sum now.
  const withBalance = new Set<string>()
  let currentBalance: number | undefined
  for (const a of input.accounts) {
    if (!a.balance || a.balance.currency !== currency) continue
    let amount: number
    try {
      amount = parseAmount(a.balance.amount)
    } catch {
      continue
    }
    withBalance.add(a.id)
    currentBalance = (currentBalance ?? 0) + amount
  }
  // Net movement per month on the accounts with a balance, for the walk backwards.
  const movement = new Map<string, number>()

  for (const t of input.transactions) {
    const day = t.booked_at?.slice(0, 10)
    let cents: number
    try {
      if (!day || !DATE_RE.test(day) || t.amount === undefined) throw new RangeError('incomplete')
      cents = parseAmount(t.amount)
    } catch {
      excluded.incomplete++
      continue
    }
    if ((t.currency ?? currency) !== currency) {
      excluded.otherCurrency++
      continue
    }
    const month = months.get(monthOf(day))
    if (!month || day < from || day > to) {
      excluded.incomplete++
      continue
    }
    if (withBalance.has(t.account_id)) movement.set(month.month, (movement.get(month.month) ?? 0) + cents)
    if (t.category === 'transfer') {
      excluded.transfers++
      continue
    }
    counted++
    if (t.category === 'refund' || cents < 0) month.spending -= cents
    else month.income += cents
  }
  for (const m of months.values()) m.net = m.income - m.spending

  // Month-end balances: now, minus everything that moved after each month ended.
  if (currentBalance !== undefined) {
    let after = 0
    for (const key of [...monthKeys].reverse()) {
      const m = months.get(key)!
      m.closingBalance = currentBalance - after
      after += movement.get(key) ?? 0
    }
  }

  return finish({
    currency,
    period: { from, to },
    months: monthKeys.map((k) => months.get(k)!),
    ...(currentBalance !== undefined ? { currentBalance } : {}),
    transactionsCounted: counted,
    excluded,
  })
}

/** Averages (over whole months, else scaled to an average month) and the indicative repayment. */
function finish(
  s: Pick<
    AffordabilitySummary,
    'currency' | 'period' | 'months' | 'currentBalance' | 'transactionsCounted' | 'excluded'
  > &
    Pick<Partial<AffordabilitySummary>, 'incomeRegularity'>,
): AffordabilitySummary {
  const { from, to } = s.period
  const list = s.months
  const complete = list.filter((m) => m.complete)
  let income: number
  let spending: number
  if (complete.length > 0) {
    income = complete.reduce((sum, m) => sum + m.income, 0) / complete.length
    spending = complete.reduce((sum, m) => sum + m.spending, 0) / complete.length
  } else {
    const scale = AVERAGE_MONTH_DAYS / daysInclusive(from, to)
    income = list.reduce((sum, m) => sum + m.income, 0) * scale
    spending = list.reduce((sum, m) => sum + m.spending, 0) * scale
  }
  const averageMonthlyIncome = Math.round(income)
  const averageMonthlySpending = Math.round(spending)
  const averageMonthlyNet = averageMonthlyIncome - averageMonthlySpending
  return {
    ...s,
    monthsCounted: complete.length,
    averageMonthlyIncome,
    averageMonthlySpending,
    averageMonthlyNet,
    suggestedMaxRepayment: Math.max(0, Math.floor(averageMonthlyNet / 3 / 100) * 100),
  }
}

/** The holder's monthly totals (an `affordability_summary` answer), as Harbor Pay computed them. */
export interface MonthlyTotals {
  period: { from: string; to: string }
  currency: string
  months: ReadonlyArray<{
    month: string
    partial: boolean
    income?: string
    spending?: string
    month_end_balance?: string
    overdraft_days?: number
  }>
  income_regularity?: { months: number; months_within_15_percent: number; median_income?: string }
}

/**
 * The summary from the holder's monthly totals instead of transactions: the same averages and
 * repayment, over the months the holder computed (its rules: docs/affordability.md). Money the
 * holder did not share (a metric left out) counts as zero; without month-end balances there is no
 * current balance. Throws RangeError on a malformed figure.
 */
export function fromMonthlyTotals(t: MonthlyTotals): AffordabilitySummary {
  const { from, to } = t.period
  if (!DATE_RE.test(from) || !DATE_RE.test(to) || from > to)
    throw new RangeError('period must be from ≤ to, as YYYY-MM-DD')
  const months: MonthSummary[] = t.months.map((m) => {
    const income = m.income !== undefined ? parseAmount(m.income) : 0
    const spending = m.spending !== undefined ? parseAmount(m.spending) : 0
    return {
      month: m.month,
      complete: !m.partial,
      income,
      spending,
      net: income - spending,
      ...(m.month_end_balance !== undefined ? { closingBalance: parseAmount(m.month_end_balance) } : {}),
      ...(m.overdraft_days !== undefined ? { overdraftDays: m.overdraft_days } : {}),
    }
  })
  const last = months.at(-1)
  const r = t.income_regularity
  return finish({
    currency: t.currency,
    period: { from, to },
    months,
    ...(last?.closingBalance !== undefined ? { currentBalance: last.closingBalance } : {}),
    transactionsCounted: 0,
    excluded: { transfers: 0, otherCurrency: 0, incomplete: 0 },
    ...(r ? { incomeRegularity: { months: r.months, within: r.months_within_15_percent } } : {}),
  })
}
