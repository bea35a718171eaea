/**
 * The `marketplace_sales` data type as Bazaar Market serves it: the shared contract, the plain words
 * its sellers read on the consent page, their storefronts, and one list handler per route. Consentry
 * does everything generic (token, grant, store, period, fields, read limits, cursors, audit); the
 * handlers only page through the marketplace's records.
 */
import { type DataType, defineDataType } from '@consentry/server'
import { marketplaceSalesType, SALES_FIELDS_BY_DATATYPE, type SalesDatatype } from './contract.ts'
import type { ListQuery, MarketplaceData } from './data.ts'
import { STORES } from './data.ts'

/** Labels of the datatypes, in the order the consent page lists them. */
export const DATATYPE_LABELS: Record<SalesDatatype, string> = {
  settlements: 'Settlements (payouts)',
  orders: 'Orders',
  refunds: 'Refunds',
}

/** Labels of every field that can leave Bazaar Market. Nothing about buyers is among them. */
export const FIELD_LABELS: Record<string, string> = {
  period_start: 'Settlement period start',
  period_end: 'Settlement period end',
  gross_sales: 'Gross sales',
  refunds: 'Refunds in the period',
  fees: 'Marketplace fees',
  net_payout: 'Net payout',
  payout_date: 'Payout date',
  ordered_at: 'Order date and time',
  items: 'Items sold (product, quantity, price)',
  amount: 'Amount',
  currency: 'Currency',
  status: 'Order status',
  ship_to_country: 'Country shipped to (not the address)',
  refunded_at: 'Refund date',
  order_id: 'Which order was refunded',
  reason: 'Refund reason',
}

/** ["Orders", "Refunds", "Settlements"] → "Orders, refunds and settlements". */
const sentence = (xs: readonly string[]) => {
  const words = xs.map((x, i) => (i === 0 ? x : x.charAt(0).toLowerCase() + x.slice(1)))
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : (words[0] ?? '')
}

/**
 * `marketplace_sales` for a data set: settlements by the end of their period, orders by when they
 * were placed, refunds by when they were paid back.
 */
export function salesDataType(data: () => MarketplaceData): DataType {
  const list =
    (route: SalesDatatype) =>
    async (q: {
      subject: string
      scopeId?: string
      from: string
      to: string
      before?: { at: string; id: string }
      limit: number
    }) => {
      if (!q.scopeId) return []
      const query: ListQuery = {
        subject: q.subject,
        storeId: q.scopeId,
        from: q.from,
        to: q.to,
        before: q.before,
        limit: q.limit,
      }
      return data()[route](query) as Array<Record<string, unknown>>
    }
  return defineDataType({
    detail: marketplaceSalesType,
    words: {
      title: 'Sales and payouts',
      scope: { legend: 'Stores', noun: 'store', plural: 'stores' },
      datatypes: DATATYPE_LABELS,
      optionalDatatypes: [],
      fields: FIELD_LABELS,
      fieldsByDatatype: Object.fromEntries(
        Object.entries(SALES_FIELDS_BY_DATATYPE).map(([k, v]) => [k, [...v]]),
      ),
      fieldsLegend: 'Details of each record',
      fieldsTitle: 'Record details',
      sees: (detail, { period }) => [
        `${sentence(detail.datatypes.map((t) => DATATYPE_LABELS[t]))} from ${period}`,
        'Only what your stores sold, refunded and were paid — never who your buyers are',
      ],
      summary: (detail, { client }) =>
        `${client} sees the ${sentence(detail.datatypes).toLowerCase()} of the stores you chose — never who your buyers are`,
      notAllowed: [
        'change listings, prices or your payout account',
        'see your buyers’ names, addresses, emails or phone numbers',
        'move money or refund orders',
      ],
      // The access log shows the period beside it: name what was read, and of which store.
      readText: (d) => {
        if (d.resource === 'stores') return 'the names of your shared stores'
        const store = STORES.find((s) => s.id === d.store)?.name
        const what = typeof d.resource === 'string' ? d.resource : 'sales'
        return `${what}${store ? ` of ${store}` : ''}`
      },
    },
    listScope: async (subject) =>
      data()
        .storesOf(subject)
        .map((s) => ({ id: s.id, name: s.name, meta: `${s.region} · ${s.currency}` })),
    handlers: {
      // The shared storefronts only (consented and still the seller's): names and currencies.
      stores: {
        get: async (read) => {
          const shared = new Set(read.scope)
          const stores = data()
            .storesOf(read.subject)
            .filter((s) => shared.has(s.id))
            .map((s) => ({ id: s.id, name: s.name, currency: s.currency, region: s.region }))
          return { body: { data: stores }, audit: { stores: stores.length } }
        },
      },
      settlements: { orderBy: 'period_end', list: list('settlements') },
      orders: { orderBy: 'ordered_at', list: list('orders') },
      refunds: { orderBy: 'refunded_at', list: list('refunds') },
    },
  })
}
