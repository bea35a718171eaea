import type { z } from 'zod'
import { transactionHistoryDetail } from './transaction-history.ts'

/**
 * A kind of authorization detail a holder accepts. Consentry ships `transaction_history`; holders add
 * their own with {@link defineDetailType}.
 */
export interface DetailType<S extends z.ZodType = z.ZodType> {
  /** The `type` member that selects this kind (`[a-z][a-z0-9_]*`). */
  type: string
  /** Validates one detail of this type; its errors become `invalid_authorization_details`. */
  schema: S
  /** Plain-words lines shown to the account holder on the consent page. */
  describe?: (detail: z.output<S>) => string[]
}

/**
 * Define a holder-specific authorization detail type.
 *
 * @example
 * ```ts
 * const payoutReport = defineDetailType({
 *   type: 'payout_report',
 *   schema: z.object({ type: z.literal('payout_report'), months: z.number().int().max(24) }).strict(),
 *   describe: (d) => [`Your payout reports for the last ${d.months} months`],
 * })
 * ```
 */
export function defineDetailType<S extends z.ZodType>(def: DetailType<S>): DetailType<S> {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(def.type)) throw new TypeError(`invalid detail type name: ${def.type}`)
  return def
}

/** The built-in `transaction_history` detail type. */
export const transactionHistoryType = defineDetailType({
  type: 'transaction_history',
  schema: transactionHistoryDetail,
})

/** The types every Consentry server understands. */
export const builtInDetailTypes: readonly DetailType[] = [transactionHistoryType]

/** Any authorization detail, once parsed: it always has a `type`. */
export type AuthorizationDetail = {
  /** The detail type, e.g. `transaction_history`. */
  type: string
  [key: string]: unknown
}

/** The result of {@link parseAuthorizationDetails}: the parsed details, or a safe error message. */
export type ParseDetailsResult =
  | {
      /** Every detail parsed. */
      success: true
      /** The parsed details, defaults applied. */
      data: AuthorizationDetail[]
    }
  | {
      /** Some detail did not parse. */
      success: false
      /** What was wrong, worded for `invalid_authorization_details` (never echoes input). */
      error: string
    }

/** At most this many details in one request. */
export const MAX_DETAILS = 10

/**
 * Parse an `authorization_details` value (a JSON string or an array) against the known detail types.
 * Errors are worded for an `invalid_authorization_details` response and never echo input values.
 *
 * @example
 * ```ts
 * const parsed = parseAuthorizationDetails(form.get('authorization_details'))
 * if (!parsed.success) return oauthError('invalid_authorization_details', parsed.error)
 * for (const detail of parsed.data) console.log(detail.type)
 * ```
 */
export function parseAuthorizationDetails(
  input: unknown,
  types: readonly DetailType[] = builtInDetailTypes,
): ParseDetailsResult {
  let value = input
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value)
    } catch {
      return { success: false, error: 'authorization_details is not valid JSON' }
    }
  }
  if (!Array.isArray(value) || value.length === 0)
    return { success: false, error: 'authorization_details must be a non-empty JSON array' }
  if (value.length > MAX_DETAILS)
    return { success: false, error: `at most ${MAX_DETAILS} authorization details` }
  const out: AuthorizationDetail[] = []
  for (const [i, item] of value.entries()) {
    const typeName = item && typeof item === 'object' ? (item as { type?: unknown }).type : undefined
    const def = types.find((t) => t.type === typeName)
    if (!def) return { success: false, error: `authorization_details[${i}]: unknown type` }
    const parsed = def.schema.safeParse(item)
    if (!parsed.success)
      return { success: false, error: `authorization_details[${i}]: ${describeIssues(parsed.error)}` }
    out.push(parsed.data as AuthorizationDetail)
  }
  return { success: true, data: out }
}

/** A short, value-free description of zod issues: "fields: fields are required to read transactions". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ')
}
