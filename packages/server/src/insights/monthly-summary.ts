import type {
  AffordabilityMetric,
  AffordabilityMonth,
  AffordabilitySummary,
  IncomeRegularity,
} from '@consentry/core'
import type { HolderTransaction } from '../resource/data-source.ts'

/**
 * The monthly totals of an `affordability_summary`: pure arithmetic over the holder's own booked
 * transactions, no I/O, no clock. The rules are docs/affordability.md, word for word; every figure is
 * exact (BigInt minor units, never a float).
 */

/** What one transaction is, for the summary. */
export type TransactionKind = 'income' | 'spending' | 'refund' | 'transfer' | 'ignore'

/**
 * The holder's categorisation hook: what a booked transaction is for the summary.
 * `transfer` marks one leg of a move between the person's own accounts; it is left out only when its
 * other leg is on another chosen account (see docs/affordability.md), otherwise it counts by its sign.
 *
 * @example
 * ```ts
 * const categorize: Categorize = (tx) =>
 *   tx.category === 'savings_sweep' ? 'transfer' : defaultCategorize(tx)
 * ```
 */
export type Categorize = (tx: HolderTransaction) => TransactionKind

const KINDS: ReadonlySet<string> = new Set(['income', 'spending', 'refund', 'transfer', 'ignore'])

/**
 * The built-in categorisation: `category: "transfer"` is a transfer leg, `category: "refund"` a
 * refund, any other money in is income, money out is spending, and a zero amount is ignored.
 */
export const defaultCategorize: Categorize = (tx) => {
  if (tx.category === 'transfer') return 'transfer'
  if (tx.category === 'refund') return 'refund'
  const a = tx.amount.trim()
  if (/^-?0*(?:\.0*)?$/.test(a)) return 'ignore'
  return a.startsWith('-') ? 'spending' : 'income'
}

export interface MonthlySummaryInput {
  /** The consented period, inclusive UTC dates. */
  period: { from: string; to: string }
  /** The chosen accounts (all in `currency`). */
  accounts: ReadonlyArray<{ id: string; currency: string }>
  currency: string
  /** Every transaction of the chosen accounts booked in the period, any order; pending ones are left out here. */
  transactions: readonly HolderTransaction[]
  /**
   * For an account with no booked transaction in the period: its balance just before the period
   * (the `balanceAfter` of its last booked transaction before `period.from`). Absent: `0`.
   */
  openingBalances?: Readonly<Record<string, string>>
  metrics: readonly AffordabilityMetric[]
  categorize?: Categorize
}

/** Two legs of one own-account transfer are at most this far apart. */
export const TRANSFER_PAIR_WINDOW_MS = 86_400_000

const AMOUNT = /^(-)?(\d{1,20})(?:\.(\d{1,6}))?$/
const DAY = 86_400_000

interface Booked {
  tx: HolderTransaction
  at: number
  day: string
  amount: bigint
  balance: bigint
}

/**
 * Compute the summary body (only the consented metrics present). Throws `TypeError` when the holder's
 * data cannot be summed exactly (a malformed amount or date, a categorisation outside the kinds) —
 * never guesses.
 *
 * @example
 * ```ts
 * const body = monthlySummary({
 *   period: { from: '2025-12-01', to: '2026-11-30' }, currency: 'EUR',
 *   accounts: [{ id: 'acc_1', currency: 'EUR' }], transactions, metrics: ['monthly_income'],
 * })
 * ```
 */
export function monthlySummary(input: MonthlySummaryInput): AffordabilitySummary {
  const { from, to } = input.period
  const categorize = input.categorize ?? defaultCategorize
  const want = new Set(input.metrics)
  const accountIds = input.accounts.map((a) => a.id)
  const currencyOf = new Map(input.accounts.map((a) => [a.id, a.currency]))

  // Booked, on a chosen account, inside the period; then one exact scale for every amount.
  const rows = input.transactions.filter((t) => t.status === 'booked' && currencyOf.has(t.accountId))
  const withDates = rows
    .map((tx) => {
      const at = Date.parse(tx.bookedAt)
      if (Number.isNaN(at)) throw new TypeError('a transaction has no valid booking time')
      return { tx, at, day: new Date(at).toISOString().slice(0, 10) }
    })
    .filter((r) => r.day >= from && r.day <= to)
  const scale = Math.max(
    2,
    ...withDates.flatMap((r) => [fractionDigits(r.tx.amount), fractionDigits(r.tx.balanceAfter)]),
    ...Object.values(input.openingBalances ?? {}).map(fractionDigits),
  )
  const booked: Booked[] = withDates.map((r) => ({
    ...r,
    amount: toUnits(r.tx.amount, scale),
    balance: toUnits(r.tx.balanceAfter, scale),
  }))
  booked.sort((a, b) => a.at - b.at || cmp(a.tx.accountId, b.tx.accountId) || cmp(a.tx.id, b.tx.id))

  const monthKeys = monthsOf(from, to)
  const income = new Map(monthKeys.map((m) => [m, 0n]))
  const spending = new Map(monthKeys.map((m) => [m, 0n]))

  // Kinds; transfer legs paired across chosen accounts (docs/affordability.md, "Own-account transfers").
  const kinds = new Map<Booked, TransactionKind>()
  for (const b of booked) {
    if (b.tx.currency !== currencyOf.get(b.tx.accountId)) {
      kinds.set(b, 'ignore')
      continue
    }
    const kind = categorize(b.tx)
    if (!KINDS.has(kind)) throw new TypeError('categorize returned an unknown kind')
    kinds.set(b, kind)
  }
  const paired = pairTransfers(booked.filter((b) => kinds.get(b) === 'transfer'))
  for (const b of booked) {
    let kind = kinds.get(b)!
    if (kind === 'transfer') {
      if (paired.has(b)) continue
      kind = b.amount < 0n ? 'spending' : 'income'
    }
    const month = b.day.slice(0, 7)
    if (kind === 'income') income.set(month, income.get(month)! + b.amount)
    else if (kind === 'spending' || kind === 'refund') spending.set(month, spending.get(month)! - b.amount)
  }

  // Balances: per account, its booked transactions in order, and the balance before the first one.
  const perAccount = new Map<string, Booked[]>(accountIds.map((id) => [id, []]))
  for (const b of booked) perAccount.get(b.tx.accountId)!.push(b)
  const opening = new Map<string, bigint>()
  for (const id of accountIds) {
    const first = perAccount.get(id)![0]
    const given = input.openingBalances?.[id]
    opening.set(id, first ? first.balance - first.amount : given !== undefined ? toUnits(given, scale) : 0n)
  }
  // Walk the period day by day: end-of-day balances and overdrawn days.
  const endOfDay = new Map<string, bigint>()
  const overdrawn = new Map(monthKeys.map((m) => [m, 0]))
  const cursor = new Map(accountIds.map((id) => [id, 0]))
  const balance = new Map(opening)
  for (let day = from; day <= to; day = nextDay(day)) {
    let below = false
    let total = 0n
    for (const id of accountIds) {
      const txs = perAccount.get(id)!
      let i = cursor.get(id)!
      let b = balance.get(id)!
      if (b < 0n) below = true
      while (i < txs.length && txs[i]!.day === day) {
        b = txs[i]!.balance
        if (b < 0n) below = true
        i++
      }
      cursor.set(id, i)
      balance.set(id, b)
      total += b
    }
    endOfDay.set(day, total)
    if (below) overdrawn.set(day.slice(0, 7), overdrawn.get(day.slice(0, 7))! + 1)
  }

  const months: AffordabilityMonth[] = monthKeys.map((month) => {
    const first = `${month}-01`
    const last = lastDayOf(month)
    const out: AffordabilityMonth = { month, partial: first < from || last > to }
    if (want.has('monthly_income')) out.income = format(income.get(month)!, scale)
    if (want.has('monthly_spending')) out.spending = format(spending.get(month)!, scale)
    if (want.has('month_end_balance'))
      out.month_end_balance = format(endOfDay.get(last < to ? last : to)!, scale)
    if (want.has('overdraft_days')) out.overdraft_days = overdrawn.get(month)!
    return out
  })
  const summary: AffordabilitySummary = {
    period: { from, to },
    currency: input.currency,
    accounts: [...accountIds],
    months,
  }
  if (want.has('income_regularity'))
    summary.income_regularity = regularity(
      months.filter((m) => !m.partial).map((m) => income.get(m.month)!),
      scale,
    )
  return summary
}

/**
 * Own-account transfers: each outgoing `transfer` leg, oldest first, takes the unpaired incoming
 * `transfer` leg on another chosen account of exactly the opposite amount booked closest in time
 * (at most 24 hours apart; ties: the earlier, then by account id, then by transaction id).
 */
function pairTransfers(legs: Booked[]): Set<Booked> {
  const paired = new Set<Booked>()
  // Incoming legs by amount, each list in (time, account, id) order.
  const incoming = new Map<bigint, Booked[]>()
  for (const b of legs) if (b.amount > 0n) incoming.set(b.amount, [...(incoming.get(b.amount) ?? []), b])
  for (const out of legs) {
    if (out.amount >= 0n) continue
    let best: Booked | undefined
    for (const inc of incoming.get(-out.amount) ?? []) {
      if (paired.has(inc) || inc.tx.accountId === out.tx.accountId) continue
      const gap = Math.abs(inc.at - out.at)
      if (gap > TRANSFER_PAIR_WINDOW_MS) continue
      // In (time, account, id) order: the first of equal gaps is the tie-break winner.
      if (!best || gap < Math.abs(best.at - out.at)) best = inc
    }
    if (best) {
      paired.add(out)
      paired.add(best)
    }
  }
  return paired
}

/** Median of whole months' income, and how many months lie within ±15 % of it. */
function regularity(values: bigint[], scale: number): IncomeRegularity {
  if (values.length === 0) return { months: 0, months_within_15_percent: 0 }
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const n = sorted.length
  // Twice the median, so an even count stays exact.
  const twice = n % 2 ? 2n * sorted[(n - 1) / 2]! : sorted[n / 2 - 1]! + sorted[n / 2]!
  const abs = (x: bigint) => (x < 0n ? -x : x)
  // |x − m| ≤ 0.15·|m|  ⇔  20·|2x − 2m| ≤ 3·|2m|
  const within = values.filter((x) => 20n * abs(2n * x - twice) <= 3n * abs(twice)).length
  const median = twice % 2n === 0n ? format(twice / 2n, scale) : format(twice * 5n, scale + 1)
  return { months: n, months_within_15_percent: within, median_income: median }
}

function fractionDigits(value: string): number {
  const m = AMOUNT.exec(value.trim())
  return m?.[3]?.length ?? 0
}

/** "-12.5" at scale 2 → -1250n. */
function toUnits(value: string, scale: number): bigint {
  const m = AMOUNT.exec(value.trim())
  if (!m) throw new TypeError('a transaction amount or balance is not a decimal number')
  const units = BigInt(m[2]! + (m[3] ?? '').padEnd(scale, '0'))
  return m[1] ? -units : units
}

/** -1250n at scale 2 → "-12.50". */
function format(units: bigint, scale: number): string {
  const neg = units < 0n
  const digits = (neg ? -units : units).toString().padStart(scale + 1, '0')
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + DAY).toISOString().slice(0, 10)

function lastDayOf(month: string): string {
  const y = Number(month.slice(0, 4))
  const m = Number(month.slice(5, 7))
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10)
}

/** Every `YYYY-MM` from the month of `from` to the month of `to`. */
export function monthsOf(from: string, to: string): string[] {
  const out: string[] = []
  let y = Number(from.slice(0, 4))
  let m = Number(from.slice(5, 7))
  const end = to.slice(0, 7)
  for (;;) {
    const key = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`
    out.push(key)
    if (key >= end) return out
    if (++m > 12) {
      m = 1
      y++
    }
  }
}
