import { z } from 'zod'
import { isoDate, secureUrl } from './common.ts'

/** Data a `transaction_history` grant may cover. */
export const DATATYPES = ['accounts', 'balances', 'transactions'] as const
/** One of the {@link DATATYPES}. */
export type Datatype = (typeof DATATYPES)[number]

/** Transaction fields that can be shared. `id` and `account_id` are always present. */
export const TRANSACTION_FIELDS = [
  'booked_at',
  'amount',
  'currency',
  'description',
  'counterparty',
  'category',
  'status',
  'balance_after',
] as const
/** One of the {@link TRANSACTION_FIELDS}. */
export type TransactionField = (typeof TRANSACTION_FIELDS)[number]

/** Longest lookback a request may ask for: ten years. */
export const MAX_LOOKBACK_DAYS = 3660

/**
 * The period a grant covers: fixed dates `{ from, to }` (inclusive) or a rolling `{ lookback_days }` window
 * ending today at each read.
 */
export const periodSchema = z.union([
  z
    .object({ from: isoDate, to: isoDate })
    .strict()
    .refine((p) => p.from <= p.to, { message: '`from` must not be after `to`' }),
  z.object({ lookback_days: z.number().int().min(1).max(MAX_LOOKBACK_DAYS) }).strict(),
])
/** The period a grant covers (see {@link periodSchema}). */
export type Period = z.infer<typeof periodSchema>

const unique = <T>(xs: readonly T[]) => new Set(xs).size === xs.length

/**
 * The `transaction_history` authorization detail (RFC 9396): what a recipient asks to read.
 *
 * @example
 * ```ts
 * const detail = transactionHistoryDetail.parse({
 *   type: 'transaction_history',
 *   datatypes: ['accounts', 'transactions'],
 *   fields: ['booked_at', 'amount', 'currency'],
 *   period: { lookback_days: 90 },
 *   purpose: 'credit_assessment',
 *   expires_in: 30 * 86400,
 * })
 * ```
 */
export const transactionHistoryDetail = z
  .object({
    type: z.literal('transaction_history'),
    actions: z.array(z.literal('read')).min(1).optional(),
    locations: z.array(secureUrl).min(1).max(5).optional(),
    datatypes: z
      .array(z.enum(DATATYPES))
      .min(1)
      .refine(unique, 'datatypes must not repeat')
      .refine((d) => d.includes('accounts'), 'datatypes must include "accounts"'),
    fields: z.array(z.enum(TRANSACTION_FIELDS)).min(1).refine(unique, 'fields must not repeat').optional(),
    /** Specific account ids; absent lets the account holder choose on the consent page. */
    accounts: z
      .array(z.string().min(1).max(128))
      .min(1)
      .max(50)
      .refine(unique, 'accounts must not repeat')
      .optional(),
    period: periodSchema.optional(),
    purpose: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/, 'purpose is a lowercase identifier such as credit_assessment'),
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
    if (d.datatypes.includes('transactions')) {
      if (!d.fields)
        ctx.addIssue({
          code: 'custom',
          path: ['fields'],
          message: 'fields are required to read transactions',
        })
      if (!d.period)
        ctx.addIssue({ code: 'custom', path: ['period'], message: 'period is required to read transactions' })
    } else if (d.fields || d.period) {
      ctx.addIssue({
        code: 'custom',
        path: ['datatypes'],
        message: 'fields and period need "transactions" in datatypes',
      })
    }
  })

/** A parsed `transaction_history` detail (see {@link transactionHistoryDetail}). */
export type TransactionHistoryDetail = z.output<typeof transactionHistoryDetail>
/** A `transaction_history` detail as a recipient writes it (defaults not yet applied). */
export type TransactionHistoryDetailInput = z.input<typeof transactionHistoryDetail>
