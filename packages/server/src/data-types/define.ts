import type { AuthorizationDetail, DetailType, RouteContract } from '@consentry/core'
import type { z } from 'zod'

/** One thing the person chooses among on the consent page: an account, a storefront. */
export interface ScopeItem {
  id: string
  /** As the person knows it: "Everyday Wallet", "Sam's Outdoor Gear UK". */
  name: string
  /** A short second line: "Wallet · EUR". */
  meta?: string
}

/** The consented window of a read, as UTC dates (inclusive), after clamping to the consent. */
export interface DateRange {
  from: string
  to: string
}

/**
 * A read that has passed every generic check: the token, the grant's live status, its type, its
 * datatype, its scope, its period and its read limit. Handlers only fetch and shape data.
 */
export interface EnforcedRead<D extends AuthorizationDetail = AuthorizationDetail> {
  grantId: string
  clientId: string
  /** The holder's own identifier of the person (never the recipient's pairwise one). */
  subject: string
  /** The grant's detail of this type, as it stands now (amendments apply on the next request). */
  detail: D
  /** The route's scope id (`{account_id}`, `{store_id}`), checked against the grant and ownership. */
  scopeId?: string
  /** Every consented scope id the person still owns. */
  scope: string[]
  /** The consented period now (lookbacks end today), or null when the detail has none. */
  period: DateRange | null
  /** The consented field names (or every declared field when the detail leaves them open). */
  fields: string[]
  /** The recipient says the person is present (`x-fapi-customer-ip-address`). */
  attended: boolean
  /** The request's query parameters (`from`, `to`, `limit`, `cursor` are read by the listing). */
  query: URLSearchParams
  /** The holder's clock. */
  now: number
}

/** A list route's question to the holder's data: one page, newest first. */
export interface ListQuery<D extends AuthorizationDetail = AuthorizationDetail> {
  read: EnforcedRead<D>
  subject: string
  scopeId?: string
  /** UTC dates, inclusive, already clamped to the consent. */
  from: string
  to: string
  /** Continue strictly after this record in (`orderBy` desc, `id` desc) order. */
  before?: { at: string; id: string }
  /** Return at most this many. */
  limit: number
}

/**
 * A paged listing. `list` answers with wire records (the route's `record` members, snake_case), newest
 * first by (`orderBy`, `id`); Consentry re-checks scope, period and order, pages, and projects each
 * record to `id`, the scope parameter and the consented fields — nothing else leaves, whatever the
 * handler returned.
 */
export interface ListHandler<D extends AuthorizationDetail = AuthorizationDetail> {
  /** The record member holding the ISO 8601 date or date-time that orders and dates it. */
  orderBy: string
  list(query: ListQuery<D>): Promise<Array<Record<string, unknown>>>
}

/**
 * A single answer (an account list, a summary). The handler shapes the body from the enforced read
 * (and must only serve what `read` allows); `audit` is what the read's audit event records about it —
 * counts and ranges, never the data.
 */
export interface ObjectHandler<D extends AuthorizationDetail = AuthorizationDetail> {
  get(
    read: EnforcedRead<D>,
    request: Request,
    holder: HolderTools,
  ): Promise<{
    body: unknown
    audit?: Record<string, unknown>
    /** A non-JSON answer (`application/jwt`): `body` is then its text. */
    contentType?: string
    /** Extra response headers, e.g. `vary: accept` when the answer depends on `Accept`. */
    headers?: Record<string, string>
  }>
}

/** What the holder lends an object handler for this read. */
export interface HolderTools {
  /**
   * Sign `claims` as a compact JWS (RFC 7515) with the holder's signing key — verifiable by anyone
   * with its JWKS — adding `iss` (the issuer), `sub` (the recipient's pairwise identifier of the
   * person, as in its tokens and receipts), `aud` (the client id), `iat` and a fresh `jti`. `typ` is
   * the explicit type (RFC 8725 §3.11), e.g. `affordability-summary+jwt`. No `exp`: a signed answer
   * is evidence of what the holder said when.
   */
  sign(claims: Record<string, unknown>, typ: string): Promise<string>
}

export type RouteHandler<D extends AuthorizationDetail = AuthorizationDetail> =
  | ListHandler<D>
  | ObjectHandler<D>

/** How a data type is put in plain words on the consent page, the dashboard and the receipt. */
export interface DataTypeWords<D extends AuthorizationDetail = AuthorizationDetail> {
  /** What the grant shares, as a heading: "Transaction history", "Sales and payouts". */
  title: string
  /** The scope, when the type has one: legend "Accounts", nouns "account"/"accounts". */
  scope?: { legend: string; noun: string; plural: string }
  /** Labels of the `datatypes` entries, in display order. */
  datatypes?: Record<string, string>
  /** Datatypes the person may untick on the consent page (e.g. `balances`). */
  optionalDatatypes?: string[]
  /** Labels of the fields (or metrics), in display order; only these can ever leave the server. */
  fields?: Record<string, string>
  /** Which fields belong to which datatype (absent: every field belongs to every datatype). */
  fieldsByDatatype?: Record<string, string[]>
  /** The fields' heading on the dashboard: "Transaction details". */
  fieldsTitle?: string
  /** Legend of the field checkboxes: "Details of each transaction". */
  fieldsLegend?: string
  /**
   * Lines about what is shared beyond scope and fields: "Transactions from 1 Sep 2026 …", "Beacon
   * Lending will see your monthly totals only — …". `period` is the consented period in words,
   * `client` the recipient's name.
   */
  sees?: (detail: D, context: { period: string; client: string }) => string[]
  /**
   * One sentence for the dashboard and the receipt when the type's datatypes and fields do not say it
   * all: "Beacon Lending sees your monthly totals only — not your transactions".
   */
  summary?: (detail: D, context: { period: string; client: string }) => string
  /** What the grant never allows, in plain words: "change listings, prices or your payout account". */
  notAllowed?: string[]
  /** A read in the person's access log: "monthly totals, Dec 2025 – Nov 2026". */
  readText?: (data: Record<string, unknown>) => string | undefined
}

/**
 * A data type the server serves: the shared contract (`detail`: schema, scope, routes), the
 * plain-words description, the person's scope items, and one handler per route. Everything generic —
 * token and grant checks, revocation on the next request, scope, period, fields, read limits,
 * cursors, the access log, receipts, events and the audit trail — is the server's, not the type's.
 *
 * @example
 * ```ts
 * const sales = defineDataType({
 *   detail: marketplaceSalesType, // defineDetailType({ type: 'marketplace_sales', schema, scope, routes })
 *   words: { title: 'Sales and payouts', scope: { legend: 'Stores', noun: 'store', plural: 'stores' } },
 *   listScope: async (seller) => (await db.stores(seller)).map((s) => ({ id: s.id, name: s.name })),
 *   handlers: {
 *     orders: { orderBy: 'ordered_at', list: (q) => db.orders(q.scopeId, q.from, q.to, q.before, q.limit) },
 *   },
 * })
 * ```
 */
export interface DataType<D extends AuthorizationDetail = AuthorizationDetail> {
  detail: DetailType
  words: DataTypeWords<D>
  /** The person's scope items (their accounts, their stores); checked again on every read. */
  listScope?: (subject: string) => Promise<ScopeItem[]>
  /** One handler per route of `detail.routes`. */
  handlers: Record<string, RouteHandler<D>>
  /**
   * A last check of what the person chose on the consent page (after the generic narrowing): a
   * sentence to show them when the choice cannot be served as one grant ("Choose accounts in one
   * currency"), else `undefined`.
   */
  checkChoice?: (detail: D, subject: string) => Promise<string | undefined>
}

/** The detail type of a contract, as parsed. */
export type DetailOf<T extends DetailType> = z.output<T['schema']> & AuthorizationDetail

/**
 * Define a data type (see {@link DataType}); checks that every route has a handler and that list
 * routes' records can be projected.
 */
export function defineDataType<T extends DetailType>(def: {
  detail: T
  words: DataTypeWords<DetailOf<T>>
  listScope?: (subject: string) => Promise<ScopeItem[]>
  handlers: { [K in keyof NonNullable<T['routes']>]: RouteHandler<DetailOf<T>> }
  checkChoice?: (detail: DetailOf<T>, subject: string) => Promise<string | undefined>
}): DataType {
  const routes = (def.detail.routes ?? {}) as Record<string, RouteContract>
  for (const [name, route] of Object.entries(routes)) {
    const handler = (def.handlers as Record<string, RouteHandler | undefined>)[name]
    if (!handler) throw new TypeError(`${def.detail.type}: no handler for route ${name}`)
    if ((route.kind === 'list') !== 'list' in handler)
      throw new TypeError(`${def.detail.type}.${name}: a ${route.kind} route needs a ${route.kind} handler`)
    if (route.path.includes('{') && !def.detail.scope)
      throw new TypeError(`${def.detail.type}.${name}: path parameters need a scope`)
  }
  return def as unknown as DataType
}
