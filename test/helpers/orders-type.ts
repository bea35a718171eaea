/**
 * A small holder-defined data type for the generic enforcement suite: a shop's orders per storefront,
 * written only against the public API. Its records carry buyer details that no field can ask for, so
 * the suite can prove projection drops whatever the handler returns beyond the consented fields.
 */
import { defineDetailType, periodSchema } from '@consentry/core'
import { defineDataType } from '@consentry/server'
import { z } from 'zod'

const unique = <T>(xs: readonly T[]) => new Set(xs).size === xs.length
export const ORDER_FIELDS = ['ordered_at', 'amount', 'currency', 'status'] as const

export const shopOrdersType = defineDetailType({
  type: 'shop_orders',
  schema: z
    .object({
      type: z.literal('shop_orders'),
      stores: z.array(z.string().min(1).max(64)).min(1).max(20).refine(unique).optional(),
      datatypes: z.array(z.enum(['orders'])).min(1),
      fields: z.array(z.enum(ORDER_FIELDS)).min(1).refine(unique).optional(),
      period: periodSchema,
      purpose: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
      expires_in: z.number().int().min(60).default(86400),
      max_reads_per_day: z.number().int().min(0).max(1000).default(4),
    })
    .strict(),
  scope: { member: 'stores', param: 'store_id' },
  routes: {
    orders: {
      method: 'GET',
      path: '/shops/{store_id}/orders',
      datatype: 'orders',
      kind: 'list',
      record: z.object({
        id: z.string(),
        store_id: z.string(),
        ordered_at: z.string().optional(),
        amount: z.string().optional(),
        currency: z.string().optional(),
        status: z.string().optional(),
      }),
    },
  },
})

const DAY = 86_400_000
export const STORES: Record<string, Array<{ id: string; name: string }>> = {
  alice: [
    { id: 'shop_a1', name: 'Alice Crafts' },
    { id: 'shop_a2', name: 'Alice Prints' },
  ],
  bob: [{ id: 'shop_b1', name: 'Bob Bikes' }],
}
export const BUYER = {
  buyer_name: 'Zed Quixote',
  buyer_email: 'zed@buyer.example',
  buyer_street: '9 Secret Lane',
}

/** 3 orders a day per store over 400 days before `today`, newest first, with buyer details attached. */
export function shopOrders(today: string) {
  const end = Date.parse(`${today}T12:00:00Z`)
  const rows: Array<Record<string, string>> = []
  for (const stores of Object.values(STORES))
    for (const s of stores)
      for (let d = 0; d < 400; d++)
        for (let k = 0; k < 3; k++)
          rows.push({
            id: `${s.id}_o${d}_${k}`,
            store_id: s.id,
            ordered_at: new Date(end - d * DAY - k * 3_600_000).toISOString(),
            amount: `${(10 + ((d * 7 + k) % 90)).toFixed(2)}`,
            currency: 'EUR',
            status: 'paid',
            ...BUYER,
          })
  rows.sort((a, b) =>
    a.ordered_at! < b.ordered_at! ? 1 : a.ordered_at! > b.ordered_at! ? -1 : a.id! < b.id! ? 1 : -1,
  )
  return rows
}

export function shopOrdersDataType(today: string) {
  const rows = shopOrders(today)
  return defineDataType({
    detail: shopOrdersType,
    words: {
      title: 'Shop orders',
      scope: { legend: 'Stores', noun: 'store', plural: 'stores' },
      datatypes: { orders: 'Orders' },
      fields: { ordered_at: 'Order date', amount: 'Amount', currency: 'Currency', status: 'Status' },
      fieldsByDatatype: { orders: [...ORDER_FIELDS] },
      fieldsLegend: 'Details of each order',
      sees: (_d, { period }) => [`Orders from ${period}`],
      notAllowed: ["see your buyers' names, emails or addresses"],
    },
    listScope: async (subject) => (STORES[subject] ?? []).map((s) => ({ id: s.id, name: s.name })),
    handlers: {
      orders: {
        orderBy: 'ordered_at',
        async list(q) {
          return rows
            .filter(
              (r) =>
                r.store_id === q.scopeId &&
                r.ordered_at!.slice(0, 10) >= q.from &&
                r.ordered_at!.slice(0, 10) <= q.to &&
                (!q.before ||
                  r.ordered_at! < q.before.at ||
                  (r.ordered_at === q.before.at && r.id! < q.before.id)),
            )
            .slice(0, q.limit)
        },
      },
    },
  })
}
