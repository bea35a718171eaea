import { z } from 'zod'
import { secureUrl } from './common.ts'
import type { DetailType, RouteContract } from './registry.ts'
import { periodSchema } from './transaction-history.ts'

/**
 * What an `affordability_summary` grant may show, per calendar month of the consented period (see
 * docs/affordability.md for the exact rules). Each metric maps to one member of the summary:
 *
 * | metric | member |
 * |---|---|
 * | `monthly_income` | `months[].income` |
 * | `monthly_spending` | `months[].spending` |
 * | `month_end_balance` | `months[].month_end_balance` |
 * | `overdraft_days` | `months[].overdraft_days` |
 * | `income_regularity` | `income_regularity` (top level: one figure for the whole period) |
 */
export const AFFORDABILITY_METRICS = [
  'monthly_income',
  'monthly_spending',
  'month_end_balance',
  'income_regularity',
  'overdraft_days',
] as const
export type AffordabilityMetric = (typeof AFFORDABILITY_METRICS)[number]

/** Longest period an affordability summary may cover: two years. */
export const MAX_AFFORDABILITY_DAYS = 730

const unique = <T>(xs: readonly T[]) => new Set(xs).size === xs.length
const DAY = 86_400_000

/**
 * The `affordability_summary` authorization detail (RFC 9396): monthly totals computed by the holder,
 * never the transactions themselves. `metrics` narrows what is shown (absent: all of them); `accounts`
 * absent lets the person choose on the consent page. The period is at most 730 days
 * (`lookback_days` ≤ 730, or `from`–`to` spanning at most 730 days).
 *
 * @example
 * ```ts
 * const detail = affordabilitySummaryDetail.parse({
 *   type: 'affordability_summary',
 *   period: { lookback_days: 365 },
 *   metrics: ['monthly_income', 'monthly_spending', 'month_end_balance'],
 *   purpose: 'credit_assessment',
 *   expires_in: 30 * 86400,
 * })
 * ```
 */
export const affordabilitySummaryDetail = z
  .object({
    type: z.literal('affordability_summary'),
    actions: z.array(z.literal('read')).min(1).optional(),
    locations: z.array(secureUrl).min(1).max(5).optional(),
    /** Specific account ids; absent lets the account holder choose on the consent page. */
    accounts: z
      .array(z.string().min(1).max(128))
      .min(1)
      .max(50)
      .refine(unique, 'accounts must not repeat')
      .optional(),
    period: periodSchema,
    /** The metrics to show; absent: all of them. */
    metrics: z
      .array(z.enum(AFFORDABILITY_METRICS))
      .min(1)
      .refine(unique, 'metrics must not repeat')
      .optional(),
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
    const p = d.period
    const days =
      'lookback_days' in p
        ? p.lookback_days
        : Math.round((Date.parse(`${p.to}T00:00:00Z`) - Date.parse(`${p.from}T00:00:00Z`)) / DAY) + 1
    if (days > MAX_AFFORDABILITY_DAYS)
      ctx.addIssue({
        code: 'custom',
        path: ['period'],
        message: `an affordability summary covers at most ${MAX_AFFORDABILITY_DAYS} days`,
      })
  })

export type AffordabilitySummaryDetail = z.output<typeof affordabilitySummaryDetail>
export type AffordabilitySummaryDetailInput = z.input<typeof affordabilitySummaryDetail>

/**
 * A money figure as a decimal string, never a float: `-12.50`. Two decimals, more only when the
 * holder's amounts carry more (never rounded); a median of an even number of months may end in half
 * a minor unit (`2870.005`).
 */
export const decimalAmount = z.string().regex(/^-?\d{1,20}(?:\.\d{1,8})?$/, 'expected a decimal amount')

/** One calendar month (UTC) of an affordability summary; only consented metrics are present. */
export const affordabilityMonthSchema = z.object({
  /** `YYYY-MM`. */
  month: z.string().regex(/^\d{4}-(?:0[1-9]|1[0-2])$/),
  /** The consented period covers only part of this month. */
  partial: z.boolean(),
  /** `monthly_income`: money in, other than own-account transfers and refunds. */
  income: decimalAmount.optional(),
  /** `monthly_spending`: money out, other than own-account transfers, less refunds. */
  spending: decimalAmount.optional(),
  /** `month_end_balance`: the chosen accounts' combined balance at the end of the month's last consented day. */
  month_end_balance: decimalAmount.optional(),
  /** `overdraft_days`: consented days of the month on which a chosen account was below zero. */
  overdraft_days: z.number().int().min(0).max(31).optional(),
})
export type AffordabilityMonth = z.infer<typeof affordabilityMonthSchema>

/** `income_regularity`: how steady income was over the period's whole (non-partial) months. */
export const incomeRegularitySchema = z.object({
  /** Whole months in the period (partial months are left out). */
  months: z.number().int().min(0),
  /** Of which, months whose income was within ±15 % of the median. */
  months_within_15_percent: z.number().int().min(0),
  /** Median monthly income over those months; absent when there are none. */
  median_income: decimalAmount.optional(),
})
export type IncomeRegularity = z.infer<typeof incomeRegularitySchema>

/**
 * The body of `GET {resource}/affordability-summary` (`application/json`), and the members of the
 * signed form's payload (`application/jwt`, `typ: affordability-summary+jwt`).
 *
 * @example
 * ```ts
 * const summary = affordabilitySummarySchema.parse(await response.json())
 * for (const m of summary.months) console.log(m.month, m.income, m.spending)
 * ```
 */
export const affordabilitySummarySchema = z.object({
  /** The period the figures cover, inclusive UTC dates. */
  period: z.object({ from: z.string(), to: z.string() }),
  /** ISO 4217 code shared by every chosen account. */
  currency: z.string(),
  /** The chosen account ids the figures are computed over. */
  accounts: z.array(z.string()),
  /** Every calendar month the period touches, oldest first. */
  months: z.array(affordabilityMonthSchema),
  income_regularity: incomeRegularitySchema.optional(),
})
export type AffordabilitySummary = z.infer<typeof affordabilitySummarySchema>

/** The JWS `typ` of the signed summary (RFC 8725 §3.11 explicit typing). */
export const AFFORDABILITY_SUMMARY_JWT_TYPE = 'affordability-summary+jwt'

/**
 * The claims of the signed summary: the summary's members at top level, plus who issued it (`iss`),
 * about whom (`sub`, the recipient's pairwise identifier), to whom (`aud`, the client id), under
 * which grant and metrics, and when (`iat`).
 */
export const affordabilitySummaryClaimsSchema = affordabilitySummarySchema.extend({
  iss: z.string(),
  sub: z.string(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  iat: z.number().int(),
  jti: z.string().optional(),
  grant_id: z.string(),
  metrics: z.array(z.enum(AFFORDABILITY_METRICS)),
})
export type AffordabilitySummaryClaims = z.infer<typeof affordabilitySummaryClaimsSchema>

/**
 * `affordability_summary`: monthly totals over the chosen accounts, computed by the holder — the
 * recipient never sees a transaction. One route, `summary` (`GET /affordability-summary`).
 *
 * @example
 * ```ts
 * const summary = await link.read(affordabilitySummaryType, 'summary')
 * ```
 */
// Written out rather than through `defineDetailType`: the registry lists this type among the
// built-in ones, and a value import back from it would be a cycle.
export const affordabilitySummaryType: DetailType<
  typeof affordabilitySummaryDetail,
  { summary: RouteContract<typeof affordabilitySummarySchema> }
> = {
  type: 'affordability_summary',
  schema: affordabilitySummaryDetail,
  scope: { member: 'accounts', param: 'account_id' },
  fieldsMember: 'metrics',
  routes: {
    summary: {
      method: 'GET',
      path: '/affordability-summary',
      kind: 'object',
      record: affordabilitySummarySchema,
    },
  },
}
