import type { z } from 'zod'
import { accountListSchema, transactionSchema } from '../resource.ts'
import { affordabilitySummaryType } from './affordability-summary.ts'
import { transactionHistoryDetail } from './transaction-history.ts'

/**
 * One resource route of a data type, relative to the resource URL (RFC 9728 `resource`). Path
 * parameters are written `{name}`; the route's scope parameter (e.g. `{account_id}`) must be one of
 * the ids the grant names in its scope member.
 */
export interface RouteContract<R extends z.ZodType = z.ZodType> {
  method: 'GET'
  /** e.g. `/stores/{store_id}/orders`. */
  path: string
  /** The `datatypes` entry a grant needs to read this route; absent: any grant of the type. */
  datatype?: string
  /**
   * `list`: a paged listing `{ data: R[], period?: { from, to }, next_cursor? }`, newest first, with
   * the query parameters `from`, `to` (YYYY-MM-DD, clamped to the consent), `limit` and `cursor`.
   * `object`: the body is one `R`.
   */
  kind: 'list' | 'object'
  /** One record (for `list`) or the body (for `object`) as it can appear: unconsented members absent. */
  record: R
}

/**
 * A kind of authorization detail a holder accepts (RFC 9396), and the resource contract behind it:
 * what the person chooses among (`scope`), and the routes a grant of this type may read. The contract
 * is pure data, shared by server and client: the client infers record types from `routes`.
 */
export interface DetailType<
  S extends z.ZodType = z.ZodType,
  R extends Record<string, RouteContract> = Record<string, RouteContract>,
> {
  type: string
  schema: S
  /** Plain-words lines shown to the account holder on the consent page (types without routes). */
  describe?: (detail: z.output<S>) => string[]
  /**
   * What the person chooses among: the detail member listing the chosen ids (`accounts`, `stores`;
   * absent in a request = the person chooses on the consent page) and the path parameter naming one
   * (`account_id`, `store_id`).
   */
  scope?: { member: string; param: string }
  /** The detail member narrowing what each record shows (`fields`, `metrics`). Default `fields`. */
  fieldsMember?: string
  /** The resource routes a grant of this type may read, by name. */
  routes?: R
}

/**
 * Define an authorization detail type (and, with `routes`, the data a grant of it reads).
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
export function defineDetailType<
  S extends z.ZodType,
  R extends Record<string, RouteContract> = Record<string, RouteContract>,
>(def: DetailType<S, R>): DetailType<S, R> {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(def.type)) throw new TypeError(`invalid detail type name: ${def.type}`)
  for (const [name, route] of Object.entries(def.routes ?? {})) {
    if (!/^(\/(?:[a-z0-9_-]+|\{[a-z_][a-z0-9_]*\}))+$/.test(route.path))
      throw new TypeError(`${def.type}.routes.${name}: path must look like /stores/{store_id}/orders`)
  }
  return def
}

/**
 * `transaction_history`: the person's accounts (and balances), and each chosen account's transactions
 * over the consented period with the consented fields.
 */
export const transactionHistoryType = defineDetailType({
  type: 'transaction_history',
  schema: transactionHistoryDetail,
  scope: { member: 'accounts', param: 'account_id' },
  routes: {
    accounts: {
      method: 'GET',
      path: '/accounts',
      datatype: 'accounts',
      kind: 'object',
      record: accountListSchema,
    },
    transactions: {
      method: 'GET',
      path: '/accounts/{account_id}/transactions',
      datatype: 'transactions',
      kind: 'list',
      record: transactionSchema,
    },
  },
})

/** The types every Consentry server understands. */
export const builtInDetailTypes: readonly DetailType[] = [transactionHistoryType, affordabilitySummaryType]

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

/** The routes of a detail type's contract. */
export type RoutesOf<T extends DetailType> = NonNullable<T['routes']>

/** Names of a type's `list` routes. */
export type ListRouteName<T extends DetailType> = {
  [K in keyof RoutesOf<T>]: RoutesOf<T>[K] extends { kind: 'list' } ? K : never
}[keyof RoutesOf<T>] &
  string

/** Names of a type's `object` routes. */
export type ObjectRouteName<T extends DetailType> = {
  [K in keyof RoutesOf<T>]: RoutesOf<T>[K] extends { kind: 'object' } ? K : never
}[keyof RoutesOf<T>] &
  string

/** One record of a route, as the contract's schema types it (unconsented members optional). */
export type RecordOf<T extends DetailType, K extends keyof RoutesOf<T>> = RoutesOf<T>[K] extends {
  record: infer S extends z.ZodType
}
  ? z.output<S>
  : never

/** `'/stores/{store_id}/orders'` → `'store_id'`. */
export type PathParamNames<P extends string> = P extends `${string}{${infer N}}${infer Rest}`
  ? N | PathParamNames<Rest>
  : never

/** The path parameters a route needs: `{ store_id: string }`. */
export type RouteParams<T extends DetailType, K extends keyof RoutesOf<T>> = RoutesOf<T>[K] extends {
  path: infer P extends string
}
  ? { [N in PathParamNames<P>]: string }
  : Record<string, string>

/**
 * A route's path with its parameters filled in (each percent-encoded); throws `TypeError` when one is
 * missing.
 *
 * @example
 * ```ts
 * routePath('/stores/{store_id}/orders', { store_id: 'st 1' }) // '/stores/st%201/orders'
 * ```
 */
export function routePath(path: string, params: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name]
    if (typeof value !== 'string' || value.length === 0) throw new TypeError(`missing path parameter ${name}`)
    return encodeURIComponent(value)
  })
}
