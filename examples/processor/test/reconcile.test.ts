import type { Order, Refund, Settlement } from '@consentry/example-marketplace/contract'
import { describe, expect, it } from 'vitest'
import { createMarketplaceData } from '../../marketplace/src/data.ts'
import { formatMoney, reconcile, toCents } from '../src/reconcile.ts'

const NOW = Date.parse('2026-06-15T12:00:00Z')
const TODAY = '2026-06-15'

describe('toCents / formatMoney', () => {
  it('parses decimal strings exactly and refuses anything else', () => {
    expect(toCents('189.00')).toBe(18900)
    expect(toCents('0.1')).toBe(10)
    expect(toCents('-12.50')).toBe(-1250)
    expect(toCents('7')).toBe(700)
    for (const bad of ['1.234', '1e3', '', ' 1.00', '1,00', 'NaN', undefined])
      expect(toCents(bad)).toBeUndefined()
  })
  it('formats in the currency’s own way', () => {
    expect(formatMoney(924008, 'EUR')).toBe('€9,240.08')
    expect(formatMoney(123456, 'GBP')).toBe('£1,234.56')
    expect(formatMoney(5000, 'USD')).toBe('$50.00')
  })
})

/** The marketplace's own wire records for a store over the last 90 days: what a full grant serves. */
function ledger(subject: string, storeId: string, currency: string) {
  const data = createMarketplaceData({ now: NOW })
  const q = { subject, storeId, from: '2026-03-18', to: TODAY, limit: 100_000 }
  return {
    currency,
    settlements: data.settlements(q),
    orders: data.orders(q),
    refunds: data.refunds(q),
    period: { from: q.from, to: q.to },
    today: TODAY,
  }
}

describe('reconcile', () => {
  it('finds the one settlement of Sam’s EU store that does not add up, and the order it left out', () => {
    const data = createMarketplaceData({ now: NOW })
    const faulty = data.rows('st_sam_eu').settlements.find((s) => s.missedOrderId)!
    const missed = data.rows('st_sam_eu').orders.find((o) => o.id === faulty.missedOrderId)!
    const r = reconcile(ledger('sam', 'st_sam_eu', 'EUR'))
    expect(r.mismatches).toBe(1)
    const bad = r.settlements.find((c) => c.status === 'mismatch')!
    expect(bad.id).toBe(faulty.id)
    expect(bad.difference).toBe(missed.cents)
    expect(bad.ordersTotal - bad.gross).toBe(missed.cents)
    expect(bad.suspects.map((s) => s.id)).toContain(missed.id)
    expect(bad.findings.join(' ')).toMatch(/missing/)
    // Every other settlement fully inside the shared period adds up; the first one is partly outside.
    for (const c of r.settlements.filter((c) => c.id !== faulty.id))
      expect(c.status).toBe(c.periodStart < '2026-03-18' ? 'unchecked' : 'ok')
    expect(r.settlements.some((c) => c.status === 'unchecked')).toBe(true)
  })

  it('finds nothing wrong in Sam’s UK store and one settlement in Kim’s', () => {
    expect(reconcile(ledger('sam', 'st_sam_uk', 'GBP')).mismatches).toBe(0)
    expect(reconcile(ledger('kim', 'st_kim_us', 'USD')).mismatches).toBe(1)
  })

  it('gives the upcoming payout: a settled period waiting to be paid, then the open period’s estimate', () => {
    // 15 Jun: the period 1–14 Jun is settled and pays out on 17 Jun.
    const r = reconcile(ledger('sam', 'st_sam_eu', 'EUR'))
    const [next, open] = r.upcoming
    expect(next).toMatchObject({ kind: 'scheduled', payoutDate: '2026-06-17', periodEnd: '2026-06-14' })
    expect(next!.amount).toBe(r.settlements[0]!.net)
    expect(open).toMatchObject({ kind: 'estimate', periodStart: '2026-06-15', payoutDate: '2026-07-01' })
    expect(open!.feeRate).toBeGreaterThan(0.07)
    expect(open!.feeRate).toBeLessThan(0.1)
    // 25 Jun: nothing settled is waiting; the next payout is the open period's.
    const data = createMarketplaceData({ now: Date.parse('2026-06-25T12:00:00Z') })
    const q = { subject: 'sam', storeId: 'st_sam_eu', from: '2026-03-28', to: '2026-06-25', limit: 100_000 }
    const later = reconcile({
      currency: 'EUR',
      settlements: data.settlements(q),
      orders: data.orders(q),
      refunds: data.refunds(q),
      period: q,
      today: '2026-06-25',
    })
    expect(later.upcoming).toHaveLength(1)
    const est = later.upcoming[0]!
    expect(est.kind).toBe('estimate')
    const sales = data.orders({ ...q, from: '2026-06-15' }).reduce((n, o) => n + (toCents(o.amount) ?? 0), 0)
    expect(est.sales).toBe(sales)
    expect(est.amount).toBeLessThan(sales)
    expect(est.amount).toBeGreaterThan(sales * 0.8)
  })

  it('flags a payout that is not gross − refunds − fees, and refunds that do not match', () => {
    const s: Settlement = {
      id: 's1',
      store_id: 'x',
      period_start: '2026-05-01',
      period_end: '2026-05-14',
      gross_sales: '100.00',
      refunds: '10.00',
      fees: '8.00',
      net_payout: '80.00',
      payout_date: '2026-05-17',
      currency: 'EUR',
    }
    const orders: Order[] = [
      { id: 'o1', store_id: 'x', ordered_at: '2026-05-02T10:00:00Z', amount: '60.00', currency: 'EUR' },
      { id: 'o2', store_id: 'x', ordered_at: '2026-05-14T23:59:00Z', amount: '40.00', currency: 'EUR' },
      { id: 'o3', store_id: 'x', ordered_at: '2026-05-15T00:00:00Z', amount: '99.00', currency: 'EUR' },
    ]
    const refunds: Refund[] = [
      { id: 'r1', store_id: 'x', refunded_at: '2026-05-03T10:00:00Z', amount: '12.00', currency: 'EUR' },
    ]
    const base = { currency: 'EUR', orders, refunds, period: { from: '2026-04-01', to: '2026-05-20' } }
    const r = reconcile({ ...base, settlements: [s], today: '2026-05-20' })
    const c = r.settlements[0]!
    expect(c.ordersTotal).toBe(10000)
    expect(c.status).toBe('mismatch')
    expect(c.findings.join(' ')).toMatch(/not gross sales − refunds − fees/)
    expect(c.findings.join(' ')).toMatch(/1 refunds add up to €12.00, but the settlement deducts €10.00/)
    expect(c.difference).toBe(10000 - 1200 - 800 - 8000)
    // Correct it: it adds up.
    const ok = reconcile({
      ...base,
      settlements: [{ ...s, refunds: '12.00', net_payout: '80.00' }],
      today: '2026-05-20',
    })
    expect(ok.settlements[0]!.status).toBe('ok')
    // Amounts not shared: nothing is claimed either way.
    const blind = reconcile({
      ...base,
      orders: orders.map(({ amount: _a, ...o }) => o),
      settlements: [s],
      today: '2026-05-20',
    })
    expect(blind.settlements[0]!.status).toBe('unchecked')
    expect(blind.upcoming).toEqual([])
    // Records in another currency are not mixed in.
    const mixed = reconcile({
      ...base,
      orders: [...orders, { ...orders[0]!, id: 'o9', currency: 'GBP' }],
      settlements: [{ ...s, refunds: '12.00' }],
      today: '2026-05-20',
    })
    expect(mixed.settlements[0]!.ordersTotal).toBe(10000)
  })
})
