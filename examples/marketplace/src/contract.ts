/**
 * The `marketplace_sales` contract: what a recipient may ask Bazaar Market for (the RFC 9396
 * authorization detail) and what each route answers. Pure data, shared by the marketplace (which
 * serves it) and recipients (which read it with typed records):
 *
 * ```ts
 * import { marketplaceSalesType } from '@consentry/example-marketplace/contract'
 * for await (const s of link.records(marketplaceSalesType, 'settlements', { store_id }))
 *   console.log(s.period_end, s.net_payout)
 * ```
 *
 * Buyers' names, addresses, emails and phone numbers are in the marketplace's own records, and no
 * field here can name them: they cannot be asked for, consented to or served.
 */
import { defineDetailType, periodSchema, secureUrl } from '@consentry/core'
import { z } from 'zod'

/** What a `marketplace_sales` grant may cover. */
export const SALES_DATATYPES = ['settlements', 'orders', 'refunds'] as const
export type SalesDatatype = (typeof SALES_DATATYPES)[number]

/** Fields of each datatype that can be shared. `id` and `store_id` are always present. */
export const SALES_FIELDS_BY_DATATYPE = {
  settlements: [
    'period_start',
    'period_end',
    'gross_sales',
    'refunds',
    'fees',
    'net_payout',
    'payout_date',
    'currency',
  ],
  orders: ['ordered_at', 'items', 'amount', 'currency', 'status', 'ship_to_country'],
  refunds: ['refunded_at', 'order_id', 'amount', 'currency', 'reason'],
} as const satisfies Record<SalesDatatype, readonly string[]>

/** Every field name, once (`amount` and `currency` belong to several datatypes). */
export const SALES_FIELDS = [...new Set(Object.values(SALES_FIELDS_BY_DATATYPE).flat())] as [
  SalesField,
  ...SalesField[],
]
export type SalesField = (typeof SALES_FIELDS_BY_DATATYPE)[SalesDatatype][number]

const unique = <T>(xs: readonly T[]) => new Set(xs).size === xs.length

/**
 * The `marketplace_sales` authorization detail: a seller's settlements (payouts), orders and refunds
 * in some of their storefronts, over a period.
 *
 * @example
 * ```ts
 * marketplaceSalesDetail.parse({
 *   type: 'marketplace_sales',
 *   datatypes: ['settlements', 'orders', 'refunds'],
 *   fields: ['period_start', 'period_end', 'net_payout', 'ordered_at', 'amount', 'refunded_at'],
 *   period: { lookback_days: 90 },
 *   purpose: 'payment_processing',
 * })
 * ```
 */
export const marketplaceSalesDetail = z
  .object({
    type: z.literal('marketplace_sales'),
    actions: z.array(z.literal('read')).min(1).optional(),
    locations: z.array(secureUrl).min(1).max(5).optional(),
    /** Specific store ids; absent lets the seller choose on the consent page. */
    stores: z
      .array(z.string().min(1).max(128))
      .min(1)
      .max(50)
      .refine(unique, 'stores must not repeat')
      .optional(),
    datatypes: z.array(z.enum(SALES_DATATYPES)).min(1).refine(unique, 'datatypes must not repeat'),
    /** Absent: every field of the chosen datatypes. */
    fields: z.array(z.enum(SALES_FIELDS)).min(1).refine(unique, 'fields must not repeat').optional(),
    /** Which sales: settlements by the end of their period, orders and refunds by their date. */
    period: periodSchema,
    purpose: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/, 'purpose is a lowercase identifier such as payment_processing'),
    /** Grant lifetime in seconds; the holder caps it (365 days by default). */
    expires_in: z
      .number()
      .int()
      .min(60)
      .max(10 * 366 * 86400)
      .default(90 * 86400),
    /** Unattended reads allowed per 24 hours. */
    max_reads_per_day: z.number().int().min(0).max(1000).default(4),
  })
  .strict()
  .superRefine((d, ctx) => {
    const chosen = new Set<string>(d.datatypes.flatMap((t) => SALES_FIELDS_BY_DATATYPE[t]))
    for (const f of d.fields ?? [])
      if (!chosen.has(f))
        ctx.addIssue({
          code: 'custom',
          path: ['fields'],
          message: `"${f}" is not a field of the chosen datatypes`,
        })
  })

export type MarketplaceSalesDetail = z.output<typeof marketplaceSalesDetail>
export type MarketplaceSalesDetailInput = z.input<typeof marketplaceSalesDetail>

/**
 * One fortnightly settlement of a store: what the store sold, refunded and paid in fees over
 * `period_start`–`period_end` (dates, inclusive), and what it paid out on `payout_date`. Amounts are
 * decimal strings in the store's currency; `net_payout` = `gross_sales` − `refunds` − `fees`.
 */
export const settlementRecord = z.object({
  id: z.string(),
  store_id: z.string(),
  period_start: z.string().optional(),
  period_end: z.string().optional(),
  gross_sales: z.string().optional(),
  refunds: z.string().optional(),
  fees: z.string().optional(),
  net_payout: z.string().optional(),
  payout_date: z.string().optional(),
  currency: z.string().optional(),
})
export type Settlement = z.infer<typeof settlementRecord>

/** One line of an order: what was sold, never who bought it. */
export const orderItem = z.object({
  sku: z.string(),
  title: z.string(),
  quantity: z.number().int(),
  unit_price: z.string(),
})
export type OrderItem = z.infer<typeof orderItem>

/**
 * One order: when it was placed (ISO 8601 date-time), its lines, total and currency, its status
 * (`paid`, `shipped`, `delivered`, `partially_refunded`, `refunded`) and the country it ships to
 * (ISO 3166-1 alpha-2). No buyer: names, addresses, emails and phones stay with the marketplace.
 */
export const orderRecord = z.object({
  id: z.string(),
  store_id: z.string(),
  ordered_at: z.string().optional(),
  items: z.array(orderItem).optional(),
  amount: z.string().optional(),
  currency: z.string().optional(),
  status: z.string().optional(),
  ship_to_country: z.string().optional(),
})
export type Order = z.infer<typeof orderRecord>

/** One refund of (part of) an order, with a reason code (`damaged`, `not_as_described`, …). */
export const refundRecord = z.object({
  id: z.string(),
  store_id: z.string(),
  refunded_at: z.string().optional(),
  order_id: z.string().optional(),
  amount: z.string().optional(),
  currency: z.string().optional(),
  reason: z.string().optional(),
})
export type Refund = z.infer<typeof refundRecord>

/** A storefront the seller shared: how they and their buyers know it, and the currency it sells in. */
export const storeRecord = z.object({
  id: z.string(),
  name: z.string(),
  currency: z.string(),
  /** Where it sells: "EU", "UK", "US". */
  region: z.string().optional(),
})
export type Store = z.infer<typeof storeRecord>
export const storeListRecord = z.object({ data: z.array(storeRecord) })

/**
 * `marketplace_sales`: the contract. The seller chooses among their stores (`stores`, path parameter
 * `store_id`); `stores` names the shared storefronts (any grant of the type may read it), and each
 * datatype is a paged list under its store, newest first.
 */
export const marketplaceSalesType = defineDetailType({
  type: 'marketplace_sales',
  schema: marketplaceSalesDetail,
  scope: { member: 'stores', param: 'store_id' },
  fieldsMember: 'fields',
  routes: {
    stores: {
      method: 'GET',
      path: '/stores',
      kind: 'object',
      record: storeListRecord,
    },
    settlements: {
      method: 'GET',
      path: '/stores/{store_id}/settlements',
      datatype: 'settlements',
      kind: 'list',
      record: settlementRecord,
    },
    orders: {
      method: 'GET',
      path: '/stores/{store_id}/orders',
      datatype: 'orders',
      kind: 'list',
      record: orderRecord,
    },
    refunds: {
      method: 'GET',
      path: '/stores/{store_id}/refunds',
      datatype: 'refunds',
      kind: 'list',
      record: refundRecord,
    },
  },
})
