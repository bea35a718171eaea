/**
 * Tidewater's reconciliation: each settlement Bazaar Market paid (or will pay) checked against the
 * orders and refunds it covers, and the upcoming payout. Pure and in integer minor units (cents):
 * no float ever touches money.
 */
import type { Order, Refund, Settlement } from '@consentry/example-marketplace/contract'

const DAY = 86_400_000

/** "1234.5" / "-12.50" → 123450 / -1250; `undefined` for anything that is not a plain decimal. */
export function toCents(amount: string | undefined): number | undefined {
  if (typeof amount !== 'string') return undefined
  const m = /^(-?)(\d{1,13})(?:\.(\d{1,2}))?$/.exec(amount)
  if (!m) return undefined
  const cents = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'))
  return m[1] ? -cents : cents
}

const LOCALES: Record<string, string> = { EUR: 'en-IE', GBP: 'en-GB', USD: 'en-US' }

/** 123450, "EUR" → "€1,234.50" (the currency's own symbol and grouping). */
export function formatMoney(cents: number, currency: string): string {
  const locale = LOCALES[currency] ?? 'en-GB'
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(cents / 100)
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`
  }
}

/** A settlement as checked. All amounts in cents of `currency`. */
export interface SettlementCheck {
  id: string
  periodStart: string
  periodEnd: string
  payoutDate: string
  gross: number
  refunds: number
  fees: number
  net: number
  /** Orders placed in the period, and what they add up to. */
  orderCount: number
  ordersTotal: number
  refundCount: number
  refundsTotal: number
  /** Orders − refunds − the settlement's fees: what the payout should be. */
  expectedNet: number
  /** `expectedNet` − `net`: positive when the seller was paid too little. */
  difference: number
  /**
   * `ok`: adds up. `mismatch`: does not. `unchecked`: the period starts before the shared history or
   * a field needed to check it was not shared.
   */
  status: 'ok' | 'mismatch' | 'unchecked'
  /** Plain-words findings ("Orders add up to €8,496.05 but the settlement counts €8,395.05 …"). */
  findings: string[]
  /** Orders whose amount equals the gross shortfall: likely the ones the settlement left out. */
  suspects: Array<{ id: string; orderedAt: string; amount: number }>
  /** The payout date is after today. */
  scheduled: boolean
}

export interface UpcomingPayout {
  /** `scheduled`: a settled period waiting to be paid. `estimate`: the period still open. */
  kind: 'scheduled' | 'estimate'
  amount: number
  payoutDate: string
  periodStart: string
  periodEnd: string
  /** For an estimate: sales and refunds so far and the fee rate assumed (from recent settlements). */
  sales?: number
  refunds?: number
  orderCount?: number
  feeRate?: number
}

export interface StoreReconciliation {
  currency: string
  /** Newest first. */
  settlements: SettlementCheck[]
  /** The next payout (a settled one waiting, else the open period's estimate); then the open period. */
  upcoming: UpcomingPayout[]
  mismatches: number
}

export interface Ledger {
  /** The store's currency (records in another currency are not counted). */
  currency: string
  settlements: Settlement[]
  orders: Order[]
  refunds: Refund[]
  /** The dates the holder served (records before `from` are not visible). */
  period: { from: string; to: string }
  /** Today, `YYYY-MM-DD` (the processor's clock). */
  today: string
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const dayMs = (iso: string) => Date.parse(`${iso.slice(0, 10)}T00:00:00Z`)
const inRange = (at: string | undefined, from: string, to: string) =>
  typeof at === 'string' && at.slice(0, 10) >= from && at.slice(0, 10) <= to

/**
 * Check each settlement against the orders and refunds of its period, and work out the upcoming
 * payout.
 *
 * @example
 * ```ts
 * const r = reconcile({ currency: 'EUR', settlements, orders, refunds, period, today: '2026-06-15' })
 * r.settlements.filter((s) => s.status === 'mismatch')
 * ```
 */
export function reconcile(ledger: Ledger): StoreReconciliation {
  const { currency, period, today } = ledger
  const money = (c: number) => formatMoney(c, currency)
  const sameCurrency = <T extends { currency?: string | undefined }>(r: T) =>
    r.currency === undefined || r.currency === currency
  const orders = ledger.orders
    .filter(sameCurrency)
    .map((o) => ({ id: o.id, at: o.ordered_at, cents: toCents(o.amount) }))
  const refunds = ledger.refunds
    .filter(sameCurrency)
    .map((r) => ({ id: r.id, at: r.refunded_at, cents: toCents(r.amount) }))
  const ordersComplete = orders.every((o) => o.at !== undefined && o.cents !== undefined)
  const refundsComplete = refunds.every((r) => r.at !== undefined && r.cents !== undefined)

  const checks: SettlementCheck[] = []
  for (const s of ledger.settlements.filter(sameCurrency)) {
    const gross = toCents(s.gross_sales)
    const back = toCents(s.refunds)
    const fees = toCents(s.fees)
    const net = toCents(s.net_payout)
    if (
      !s.period_start ||
      !s.period_end ||
      gross === undefined ||
      back === undefined ||
      fees === undefined ||
      net === undefined
    )
      continue
    const periodOrders = orders.filter((o) => inRange(o.at, s.period_start!, s.period_end!))
    const periodRefunds = refunds.filter((r) => inRange(r.at, s.period_start!, s.period_end!))
    const ordersTotal = periodOrders.reduce((n, o) => n + (o.cents ?? 0), 0)
    const refundsTotal = periodRefunds.reduce((n, r) => n + (r.cents ?? 0), 0)
    const expectedNet = ordersTotal - refundsTotal - fees
    const findings: string[] = []
    let status: SettlementCheck['status'] = 'ok'
    const suspects: SettlementCheck['suspects'] = []
    if (s.period_start < period.from) {
      status = 'unchecked'
      findings.push('Starts before the history you shared with us, so some of its orders are not visible.')
    } else if (!ordersComplete || !refundsComplete) {
      status = 'unchecked'
      findings.push('Order or refund amounts and dates were not shared, so it cannot be checked.')
    } else {
      if (gross - back - fees !== net)
        findings.push(
          `The payout of ${money(net)} is not gross sales − refunds − fees (${money(gross - back - fees)}).`,
        )
      if (ordersTotal !== gross) {
        const gap = ordersTotal - gross
        findings.push(
          `${periodOrders.length} orders add up to ${money(ordersTotal)}, but the settlement counts ${money(gross)} in sales (${money(Math.abs(gap))} ${gap > 0 ? 'missing' : 'too much'}).`,
        )
        for (const o of periodOrders)
          if (o.cents === gap && o.at) suspects.push({ id: o.id, orderedAt: o.at, amount: gap })
      }
      if (refundsTotal !== back)
        findings.push(
          `${periodRefunds.length} refunds add up to ${money(refundsTotal)}, but the settlement deducts ${money(back)}.`,
        )
      if (findings.length > 0 || expectedNet !== net) status = 'mismatch'
      if (status === 'mismatch' && expectedNet !== net)
        findings.push(
          expectedNet > net
            ? `You were paid ${money(expectedNet - net)} less than your sales say.`
            : `You were paid ${money(net - expectedNet)} more than your sales say.`,
        )
    }
    checks.push({
      id: s.id,
      periodStart: s.period_start,
      periodEnd: s.period_end,
      payoutDate: s.payout_date ?? '',
      gross,
      refunds: back,
      fees,
      net,
      orderCount: periodOrders.length,
      ordersTotal,
      refundCount: periodRefunds.length,
      refundsTotal,
      expectedNet,
      difference: expectedNet - net,
      status,
      findings,
      suspects: suspects.slice(0, 3),
      scheduled: Boolean(s.payout_date && s.payout_date > today),
    })
  }
  checks.sort((a, b) => (a.periodEnd < b.periodEnd ? 1 : a.periodEnd > b.periodEnd ? -1 : 0))

  // The open period: from the day after the last settled one, at the same length and payout lag.
  const latest = checks[0]
  const length = latest ? (dayMs(latest.periodEnd) - dayMs(latest.periodStart)) / DAY + 1 : 14
  const lag = latest?.payoutDate ? (dayMs(latest.payoutDate) - dayMs(latest.periodEnd)) / DAY : 3
  const openStart = latest ? isoDay(dayMs(latest.periodEnd) + DAY) : period.from
  const openEnd = isoDay(dayMs(openStart) + (length - 1) * DAY)
  const recent = checks.slice(0, 6).filter((c) => c.gross > 0)
  const feeRate =
    recent.length > 0 ? recent.reduce((n, c) => n + c.fees, 0) / recent.reduce((n, c) => n + c.gross, 0) : 0
  const openOrders = orders.filter((o) => inRange(o.at, openStart, today))
  const sales = openOrders.reduce((n, o) => n + (o.cents ?? 0), 0)
  const openRefunds = refunds
    .filter((r) => inRange(r.at, openStart, today))
    .reduce((n, r) => n + (r.cents ?? 0), 0)
  const estimate: UpcomingPayout = {
    kind: 'estimate',
    amount: sales - openRefunds - Math.round(sales * feeRate),
    payoutDate: isoDay(dayMs(openEnd) + lag * DAY),
    periodStart: openStart,
    periodEnd: openEnd,
    sales,
    refunds: openRefunds,
    orderCount: openOrders.length,
    feeRate,
  }
  const waiting = checks
    .filter((c) => c.scheduled)
    .map(
      (c): UpcomingPayout => ({
        kind: 'scheduled',
        amount: c.net,
        payoutDate: c.payoutDate,
        periodStart: c.periodStart,
        periodEnd: c.periodEnd,
      }),
    )
    .reverse()
  return {
    currency,
    settlements: checks,
    upcoming: [...waiting, ...(ordersComplete && refundsComplete ? [estimate] : [])],
    mismatches: checks.filter((c) => c.status === 'mismatch').length,
  }
}
