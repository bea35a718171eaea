import {
  type Account,
  type AffordabilitySummary,
  type AuditLogBundle,
  type AuthorizationDetail,
  accountListSchema,
  affordabilitySummarySchema,
  type DetailType,
  fromBase64,
  type GrantStatus,
  grantResponseSchema,
  isoDate,
  type ListRouteName,
  type LogCheckpoint,
  MAX_PAGE_SIZE,
  type ObjectRouteName,
  type Period,
  type RecordOf,
  type RouteContract,
  type RouteParams,
  routePath,
  type Transaction,
  type TransactionPage,
  transactionPageSchema,
  verifyAuditBundle,
  verifyCheckpointNote,
  verifyConsistency,
} from '@consentry/core'
import * as oauth from 'oauth4webapi'
import { type VerifiedAffordabilitySummary, verifyAffordabilitySummary } from './affordability.ts'
import {
  type AmendOptions,
  type AmendResult,
  completeAmend,
  type PendingAmend,
  type StartAmendResult,
  startAmend,
} from './amend.ts'
import type { ClientContext } from './context.ts'
import { ConsentryClientError, InvalidRequestError, ProtocolError } from './errors.ts'
import type { LinkState } from './token-store.ts'
import { discard, readJson, toClientError } from './transport.ts'

/** What the account holder granted, in one flat view (from the granted `authorization_details`). */
export interface LinkGrant {
  /** The grant id. */
  grantId: string
  /** The concrete account ids the person shared. */
  accounts: string[]
  /** The consented transaction period (`{from,to}` or `{lookback_days}`), if transactions were granted. */
  period?: Period
  /** The transaction fields the person left ticked. */
  fields: string[]
  /** What was granted: `accounts`, and `balances` / `transactions` when asked and granted. */
  datatypes: string[]
  /** The purpose id given at the request, e.g. `credit_assessment`. */
  purpose?: string
  /** Unattended reads allowed per 24 h. */
  maxReadsPerDay?: number
  /**
   * Best-known grant expiry: the granted `expires_in` counted from when the link completed (the server's
   * own expiry is never later). `link.status()` gives the authoritative `expiresAt`.
   */
  expiresAt?: Date
  /** The granted details exactly as the server sent them. */
  authorizationDetails: AuthorizationDetail[]
}

/** Per-call options of a read. */
export interface ReadOptions {
  /**
   * The account holder's IP address when they are present (sent as `x-fapi-customer-ip-address`): the
   * read is then *attended* and does not count against `max_reads_per_day` (the holder caps attended
   * reads separately, 50 a day per grant by default). Omit for background reads.
   */
  customerIpAddress?: string
}

/** Options of `link.transactions()` / `link.transactionPages()`. */
export interface TransactionsOptions extends ReadOptions {
  /** A shared account id (from `link.grant.accounts` or `link.accounts()`). */
  accountId: string
  /** First day, `YYYY-MM-DD` (the server clamps to the consented period). */
  from?: string
  /** Last day, `YYYY-MM-DD`. */
  to?: string
  /** Transactions per page, 1‥500 (server default 100). */
  pageSize?: number
}

/** Options of `link.affordabilitySummary()`. */
export interface AffordabilitySummaryOptions extends ReadOptions {
  /**
   * Ask for the holder-signed form (`Accept: application/jwt`): the answer is verified against the
   * holder's JWKS and returned with the compact JWS, to keep as evidence.
   */
  signed?: boolean
}

/** A signed summary as `link.affordabilitySummary({ signed: true })` returns it: verified, with its JWS. */
export interface SignedAffordabilitySummary extends VerifiedAffordabilitySummary {
  /** The compact JWS (`typ: affordability-summary+jwt`); verify it again any time with `verifyAffordabilitySummary`. */
  jws: string
}

/** Options of `link.records()` / `link.pages()`: any data type's list route. */
export interface ListOptions extends ReadOptions {
  /** First day, `YYYY-MM-DD` (the server clamps to the consented period). */
  from?: string
  /** Last day, `YYYY-MM-DD`. */
  to?: string
  /** Records per page, 1‥500 (server default 100). */
  pageSize?: number
}

/** One page of a list route: its records, the period served (after clamping), and where it continues. */
export interface RecordPage<R> {
  /** The page's records, newest first. */
  data: R[]
  /** The period served, after clamping to the consent. */
  period?: {
    /** First day, `YYYY-MM-DD`. */
    from: string
    /** Last day, `YYYY-MM-DD`. */
    to: string
  }
  /** Where the listing continues (the `cursor` of the next request); absent on the last page. */
  next_cursor?: string
}

/** Grant management's view of a grant (`GET /grants/{id}`). */
export interface GrantStatusInfo {
  /** The grant id. */
  grantId: string
  /** Its status now, as the server sees it. */
  status: GrantStatus
  /** This client's id. */
  clientId: string
  /** What is granted now (the person may have narrowed it). */
  authorizationDetails: AuthorizationDetail[]
  /** When the request was made. */
  createdAt: Date
  /** When the grant ends on its own. */
  expiresAt: Date
  /** When it ended, if it has. */
  endedAt?: Date
  /** Why it ended, e.g. `revoked_by_subject` (docs/events.md). */
  endedReason?: string
}

/** One linked grant: read what it allows, check it, end it. Obtain it from `completeLink` or `client.link(grantId)`. */
export interface Link {
  /** The grant this link reads under. */
  readonly grantId: string
  /** What was granted (accounts, period, fields, datatypes, purpose, expiry). */
  readonly grant: LinkGrant
  /**
   * The shared accounts.
   *
   * @example
   * ```ts
   * for (const account of await link.accounts()) console.log(account.id, account.name)
   * ```
   */
  accounts(options?: ReadOptions): Promise<Account[]>
  /**
   * Every transaction of an account in the consented period, newest first, across all pages.
   *
   * @example
   * ```ts
   * for await (const tx of link.transactions({ accountId: 'acc_1', from: '2025-01-01' })) rows.push(tx)
   * ```
   */
  transactions(options: TransactionsOptions): AsyncGenerator<Transaction, void, undefined>
  /**
   * The same listing page by page (follows `next_cursor`).
   *
   * @example
   * ```ts
   * for await (const page of link.transactionPages({ accountId: 'acc_1', pageSize: 500 })) await save(page.data)
   * ```
   */
  transactionPages(options: TransactionsOptions): AsyncGenerator<TransactionPage, void, undefined>
  /**
   * The monthly totals of an `affordability_summary` grant (`GET /affordability-summary`), computed
   * by the holder: only the consented metrics are present. With `{ signed: true }`, the holder-signed
   * form, verified against the holder's published keys, with its JWS to keep as evidence.
   *
   * @example
   * ```ts
   * const summary = await link.affordabilitySummary()
   * const { summary: figures, jws, claims } = await link.affordabilitySummary({ signed: true })
   * await evidence.put(claims.grant_id, jws)
   * ```
   */
  affordabilitySummary(
    options?: AffordabilitySummaryOptions & { signed?: false },
  ): Promise<AffordabilitySummary>
  /** The holder-signed summary, verified against the holder's published keys, with its JWS to keep as evidence. */
  affordabilitySummary(
    options: AffordabilitySummaryOptions & { signed: true },
  ): Promise<SignedAffordabilitySummary>
  /**
   * Every record of any data type's list route, newest first, across all pages — typed from the
   * type's contract (`defineDetailType`), so the holder's records autocomplete without hand-written
   * types. Each record is checked against the contract's schema.
   *
   * @example
   * ```ts
   * for await (const order of link.records(marketplaceSalesType, 'orders', { store_id: 'st_1' }, { from: '2026-01-01' }))
   *   total += Number(order.amount)
   * ```
   */
  records<T extends DetailType, K extends ListRouteName<T>>(
    type: T,
    route: K,
    params: RouteParams<T, K>,
    options?: ListOptions,
  ): AsyncGenerator<RecordOf<T, K>, void, undefined>
  /**
   * The same listing page by page (follows `next_cursor`).
   *
   * @example
   * ```ts
   * for await (const page of link.pages(marketplaceSalesType, 'settlements', { store_id }, { pageSize: 500 })) save(page.data)
   * ```
   */
  pages<T extends DetailType, K extends ListRouteName<T>>(
    type: T,
    route: K,
    params: RouteParams<T, K>,
    options?: ListOptions,
  ): AsyncGenerator<RecordPage<RecordOf<T, K>>, void, undefined>
  /**
   * The answer of any data type's object route (one body, e.g. a summary), typed from its contract.
   *
   * @example
   * ```ts
   * const summary = await link.read(affordabilitySummaryType, 'summary')
   * ```
   */
  read<T extends DetailType, K extends ObjectRouteName<T>>(
    type: T,
    route: K,
    params?: RouteParams<T, K>,
    options?: ReadOptions,
  ): Promise<RecordOf<T, K>>
  /**
   * The grant's status from grant management (`GET /grants/{id}`).
   *
   * @example
   * ```ts
   * const { status, expiresAt } = await link.status()
   * ```
   */
  status(): Promise<GrantStatusInfo>
  /**
   * End the grant (`DELETE /grants/{id}`; RFC 7009 revocation of the refresh token if grant management
   * is unavailable) and delete the link's tokens from the token store, keeping its tombstone: later calls
   * on the grant throw `GrantRevokedError` (reason `revoked_by_client`).
   *
   * @example
   * ```ts
   * await link.revoke()
   * ```
   */
  revoke(): Promise<void>
  /**
   * Verify this grant's access log in the holder's transparency log: fetch `GET /grants/{id}/access-log`
   * (every page), check each event's RFC 9162 inclusion proof against the holder's signed checkpoint
   * (C2SP signed note, key from `audit_log.verifier_key`), and check that checkpoint is consistent
   * with the last one this link saw (RFC 9162 consistency proof) — so the holder cannot rewrite or
   * drop history it once showed you. The verified checkpoint is kept in the token store.
   *
   * @example
   * ```ts
   * const log = await link.verifyAccessLog()
   * if (!log.ok) alert(log.problems.join('\n'))
   * else console.log(`${log.reads} reads proven in a log of ${log.size}`)
   * ```
   */
  verifyAccessLog(): Promise<AccessLogVerification>
  /**
   * Ask the person to change this grant (FAPI Grant Management): `merge` (default) adds `details` to
   * what is granted, `replace` makes them the whole grant. Returns the URL to send the person to (the
   * holder shows the change as "Adds: …" / "Removes: …" lines) and the {@link PendingAmend} to keep.
   *
   * @example
   * ```ts
   * const { url, pending } = await link.amend([{ ...detail, period: { lookback_days: 180 } }])
   * session.pendingAmend = pending
   * return Response.redirect(url, 303)
   * ```
   */
  amend(
    details: readonly AuthorizationDetail[] | readonly Record<string, unknown>[],
    options?: AmendOptions,
  ): Promise<StartAmendResult>
  /**
   * Ask the person to renew this grant: a `replace` with the details as granted now and a new
   * `expiresIn` (seconds, counted from the person's approval; the holder caps it).
   *
   * @example
   * ```ts
   * const { url, pending } = await link.renew({ expiresIn: 90 * 86400 })
   * ```
   */
  renew(options: { expiresIn: number; state?: string }): Promise<StartAmendResult>
  /**
   * Finish an amendment or renewal from the callback URL. `approved`: the same grant now allows the
   * new details and the link holds fresh tokens for it; `declined`: nothing changed.
   *
   * @example
   * ```ts
   * const result = await link.completeAmend(request.url, session.pendingAmend)
   * if (result.outcome === 'declined') showMessage('No changes were made.')
   * ```
   */
  completeAmend(callbackUrl: string | URL, pending: PendingAmend): Promise<AmendResult>
  /**
   * Refresh the access token now (normally automatic). Rotates and stores the refresh token.
   *
   * @example
   * ```ts
   * await link.refresh()
   * ```
   */
  refresh(): Promise<void>
}

/** What `link.verifyAccessLog()` found. */
export interface AccessLogVerification {
  /** Every entry proven, the checkpoint signed by the log key and consistent with the previous one. */
  ok: boolean
  /** Tree size of the verified checkpoint. */
  size: number
  /** Events of this grant proven in the log. */
  events: number
  /** Of which `data.read` (this client's reads). */
  reads: number
  /** Size of the previously kept checkpoint this one was proven to extend (absent the first time). */
  previousSize?: number
  /** What failed, in words (empty when `ok`). */
  problems: string[]
}

/** Flatten granted details into the {@link LinkGrant} view. */
export function grantView(state: LinkState): LinkGrant {
  const details = state.authorizationDetails
  const th = details.filter((d) => d.type === 'transaction_history')
  const union = (key: string) => [
    ...new Set(
      th.flatMap((d) =>
        Array.isArray(d[key]) ? (d[key] as unknown[]).filter((v): v is string => typeof v === 'string') : [],
      ),
    ),
  ]
  const first = th[0]
  const grant: LinkGrant = {
    grantId: state.grantId,
    accounts: union('accounts'),
    fields: union('fields'),
    datatypes: union('datatypes'),
    authorizationDetails: structuredClone(details),
  }
  if (first?.period && typeof first.period === 'object')
    grant.period = structuredClone(first.period) as Period
  if (typeof first?.purpose === 'string') grant.purpose = first.purpose
  if (typeof first?.max_reads_per_day === 'number') grant.maxReadsPerDay = first.max_reads_per_day
  if (state.grantExpiresAt !== undefined) grant.expiresAt = new Date(state.grantExpiresAt)
  return grant
}

const IP_RE = /^[0-9A-Fa-f:.]{2,45}$/

function ipHeader(ctx: ClientContext, options?: ReadOptions): Record<string, string> {
  const ip = options?.customerIpAddress ?? ctx.options.customerIpAddress
  if (ip === undefined) return {}
  if (typeof ip !== 'string' || !IP_RE.test(ip))
    throw new InvalidRequestError('customerIpAddress must be an IPv4 or IPv6 address')
  return { 'x-fapi-customer-ip-address': ip }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])
/** Any body: only used to turn a non-200 access-log answer into its typed error. */
const bundleSchema: Schema<unknown> = { safeParse: (value) => ({ success: true, data: value }) }

/** The part of a zod schema used here (keeps zod out of this package's dependencies). */
interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false }
}

/** Turn a resource response into its validated JSON body, or the documented typed error. */
async function resourceJson<T>(
  ctx: ClientContext,
  response: Response,
  schema: Schema<T>,
  grantId: string,
): Promise<T> {
  if (response.status === 200) {
    const parsed = schema.safeParse(await readJson(response))
    if (!parsed.success)
      throw new ProtocolError('the resource answer does not match the protocol', { status: 200, grantId })
    return parsed.data
  }
  throw await toClientError(response, { grantId, now: ctx.clock() })
}

/** A list page `{ data: R[], period?, next_cursor? }`, each record checked with the contract's schema. */
function listPageSchema<R>(record: Schema<R>): Schema<RecordPage<R>> {
  return {
    safeParse(value: unknown) {
      const v = value as { data?: unknown; period?: unknown; next_cursor?: unknown } | null
      if (!v || typeof v !== 'object' || !Array.isArray(v.data)) return { success: false }
      if (v.next_cursor !== undefined && typeof v.next_cursor !== 'string') return { success: false }
      const p = v.period as { from?: unknown; to?: unknown } | undefined
      if (p !== undefined && (typeof p?.from !== 'string' || typeof p?.to !== 'string'))
        return { success: false }
      const data: R[] = []
      for (const item of v.data) {
        const parsed = record.safeParse(item)
        if (!parsed.success) return { success: false }
        data.push(parsed.data)
      }
      return {
        success: true,
        data: {
          data,
          ...(p ? { period: { from: p.from as string, to: p.to as string } } : {}),
          ...(typeof v.next_cursor === 'string' ? { next_cursor: v.next_cursor } : {}),
        },
      }
    },
  }
}

function validateListOptions(options: ListOptions): void {
  for (const key of ['from', 'to'] as const) {
    const value = options[key]
    if (value !== undefined && !isoDate.safeParse(value).success)
      throw new InvalidRequestError(`${key} must be a date as YYYY-MM-DD`)
  }
  if (options.from && options.to && options.from > options.to)
    throw new InvalidRequestError('from must not be after to')
  const size = options.pageSize
  if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE))
    throw new InvalidRequestError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`)
}

function validateTransactionsOptions(options: TransactionsOptions): void {
  if (
    !options ||
    typeof options.accountId !== 'string' ||
    options.accountId.length === 0 ||
    options.accountId.length > 128
  )
    throw new InvalidRequestError('accountId is required')
  for (const key of ['from', 'to'] as const) {
    const value = options[key]
    if (value !== undefined && !isoDate.safeParse(value).success)
      throw new InvalidRequestError(`${key} must be a date as YYYY-MM-DD`)
  }
  if (options.from && options.to && options.from > options.to)
    throw new InvalidRequestError('from must not be after to')
  const size = options.pageSize
  if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE))
    throw new InvalidRequestError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`)
}

/** The Link implementation over a client context. */
export class LinkImpl implements Link {
  readonly grantId: string
  #ctx: ClientContext
  #snapshot: LinkState

  constructor(ctx: ClientContext, state: LinkState) {
    this.#ctx = ctx
    this.grantId = state.grantId
    this.#snapshot = state
  }

  get grant(): LinkGrant {
    return grantView(this.#snapshot)
  }

  async #get(url: URL, options?: ReadOptions): Promise<Response> {
    const response = await this.#ctx.linkRequest(this.grantId, 'GET', url, ipHeader(this.#ctx, options))
    const latest = await this.#ctx.store.get(this.grantId)
    if (latest) this.#snapshot = latest
    return response
  }

  async accounts(options?: ReadOptions): Promise<Account[]> {
    ipHeader(this.#ctx, options)
    const url = new URL(`${await this.#ctx.resourceBase()}/accounts`)
    const body = await resourceJson(this.#ctx, await this.#get(url, options), accountListSchema, this.grantId)
    return body.data
  }

  async *transactionPages(options: TransactionsOptions): AsyncGenerator<TransactionPage, void, undefined> {
    validateTransactionsOptions(options)
    ipHeader(this.#ctx, options)
    const base = `${await this.#ctx.resourceBase()}/accounts/${encodeURIComponent(options.accountId)}/transactions`
    const seen = new Set<string>()
    let cursor: string | undefined
    do {
      const url = new URL(base)
      if (options.from) url.searchParams.set('from', options.from)
      if (options.to) url.searchParams.set('to', options.to)
      if (options.pageSize !== undefined) url.searchParams.set('limit', String(options.pageSize))
      if (cursor !== undefined) url.searchParams.set('cursor', cursor)
      const page = await resourceJson(
        this.#ctx,
        await this.#get(url, options),
        transactionPageSchema,
        this.grantId,
      )
      yield page
      cursor = page.next_cursor
      if (cursor !== undefined) {
        if (cursor.length === 0 || seen.has(cursor))
          throw new ProtocolError('the server repeated a pagination cursor', { grantId: this.grantId })
        seen.add(cursor)
      }
    } while (cursor !== undefined)
  }

  async *transactions(options: TransactionsOptions): AsyncGenerator<Transaction, void, undefined> {
    for await (const page of this.transactionPages(options)) yield* page.data
  }

  affordabilitySummary(
    options?: AffordabilitySummaryOptions & { signed?: false },
  ): Promise<AffordabilitySummary>
  affordabilitySummary(
    options: AffordabilitySummaryOptions & { signed: true },
  ): Promise<SignedAffordabilitySummary>
  async affordabilitySummary(
    options: AffordabilitySummaryOptions = {},
  ): Promise<AffordabilitySummary | SignedAffordabilitySummary> {
    const ctx = this.#ctx
    const headers = ipHeader(ctx, options)
    const url = new URL(`${await ctx.resourceBase()}/affordability-summary`)
    if (!options.signed)
      return resourceJson(ctx, await this.#get(url, options), affordabilitySummarySchema, this.grantId)
    const response = await ctx.linkRequest(this.grantId, 'GET', url, {
      ...headers,
      accept: 'application/jwt',
    })
    const latest = await ctx.store.get(this.grantId)
    if (latest) this.#snapshot = latest
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    if (response.status !== 200 || type !== 'application/jwt')
      return resourceJson(ctx, response, { safeParse: () => ({ success: false }) }, this.grantId) as never
    const jws = (await response.text()).trim()
    const verified = await verifyAffordabilitySummary(jws, {
      issuer: ctx.t.issuer,
      jwks: await ctx.holderKeys(),
      audience: ctx.clientId,
    })
    if (verified.claims.grant_id !== this.grantId)
      throw new ProtocolError('the signed summary belongs to another grant', { grantId: this.grantId })
    return { ...verified, jws }
  }

  #route(type: DetailType, route: string, kind: 'list' | 'object'): RouteContract {
    const contract = type?.routes?.[route]
    if (!contract || contract.kind !== kind)
      throw new InvalidRequestError(`${type?.type ?? 'this type'} has no ${kind} route named ${route}`)
    return contract
  }

  async *pages<T extends DetailType, K extends ListRouteName<T>>(
    type: T,
    route: K,
    params: RouteParams<T, K>,
    options: ListOptions = {},
  ): AsyncGenerator<RecordPage<RecordOf<T, K>>, void, undefined> {
    const contract = this.#route(type, route, 'list')
    validateListOptions(options)
    ipHeader(this.#ctx, options)
    let path: string
    try {
      path = routePath(contract.path, params as Record<string, string>)
    } catch (e) {
      throw new InvalidRequestError((e as Error).message)
    }
    const base = `${await this.#ctx.resourceBase()}${path}`
    const pageSchema = listPageSchema<RecordOf<T, K>>(contract.record as Schema<RecordOf<T, K>>)
    const seen = new Set<string>()
    let cursor: string | undefined
    do {
      const url = new URL(base)
      if (options.from) url.searchParams.set('from', options.from)
      if (options.to) url.searchParams.set('to', options.to)
      if (options.pageSize !== undefined) url.searchParams.set('limit', String(options.pageSize))
      if (cursor !== undefined) url.searchParams.set('cursor', cursor)
      const page = await resourceJson(this.#ctx, await this.#get(url, options), pageSchema, this.grantId)
      yield page
      cursor = page.next_cursor
      if (cursor !== undefined) {
        if (cursor.length === 0 || seen.has(cursor))
          throw new ProtocolError('the server repeated a pagination cursor', { grantId: this.grantId })
        seen.add(cursor)
      }
    } while (cursor !== undefined)
  }

  async *records<T extends DetailType, K extends ListRouteName<T>>(
    type: T,
    route: K,
    params: RouteParams<T, K>,
    options?: ListOptions,
  ): AsyncGenerator<RecordOf<T, K>, void, undefined> {
    for await (const page of this.pages(type, route, params, options)) yield* page.data
  }

  async read<T extends DetailType, K extends ObjectRouteName<T>>(
    type: T,
    route: K,
    params?: RouteParams<T, K>,
    options?: ReadOptions,
  ): Promise<RecordOf<T, K>> {
    const contract = this.#route(type, route, 'object')
    ipHeader(this.#ctx, options)
    let path: string
    try {
      path = routePath(contract.path, (params ?? {}) as Record<string, string>)
    } catch (e) {
      throw new InvalidRequestError((e as Error).message)
    }
    const url = new URL(`${await this.#ctx.resourceBase()}${path}`)
    return resourceJson(
      this.#ctx,
      await this.#get(url, options),
      contract.record as Schema<RecordOf<T, K>>,
      this.grantId,
    )
  }

  async status(): Promise<GrantStatusInfo> {
    const response = await this.#ctx.grantRequest(this.grantId, 'GET')
    if (response.status === 200) {
      const parsed = grantResponseSchema.safeParse(await readJson(response))
      if (!parsed.success || parsed.data.grant_id !== this.grantId)
        throw new ProtocolError('the grant management answer does not match the protocol', {
          grantId: this.grantId,
        })
      const g = parsed.data
      const info: GrantStatusInfo = {
        grantId: g.grant_id,
        status: g.status,
        clientId: g.client_id,
        authorizationDetails: g.authorization_details as AuthorizationDetail[],
        createdAt: toDate(g.created_at, this.grantId),
        expiresAt: toDate(g.expires_at, this.grantId),
      }
      if (g.ended_at) info.endedAt = toDate(g.ended_at, this.grantId)
      if (g.ended_reason) info.endedReason = g.ended_reason
      await this.#noteExpiry(info.expiresAt.getTime())
      return info
    }
    throw await toClientError(response, { grantId: this.grantId, now: this.#ctx.clock() })
  }

  async #noteExpiry(expiresAt: number): Promise<void> {
    const state = await this.#ctx.store.get(this.grantId)
    if (!state || state.grantExpiresAt === expiresAt) return
    const next = { ...state, grantExpiresAt: expiresAt, updatedAt: this.#ctx.clock() }
    await this.#ctx.store.set(this.grantId, next)
    this.#snapshot = next
  }

  async verifyAccessLog(): Promise<AccessLogVerification> {
    const ctx = this.#ctx
    const as = await ctx.metadata()
    const log = as.audit_log
    if (!log || typeof log.verifier_key !== 'string' || typeof log.consistency_endpoint !== 'string')
      throw new ProtocolError('the server does not announce an audit_log', { grantId: this.grantId })
    const problems: string[] = []
    let checkpoint: LogCheckpoint | undefined
    let note: string | undefined
    let events = 0
    let reads = 0
    let suffix = '/access-log'
    for (let page = 0; page < 10_000; page++) {
      const response = await ctx.grantRequest(this.grantId, 'GET', suffix)
      if (response.status !== 200) return resourceJson(ctx, response, bundleSchema, this.grantId) as never
      const bundle = (await readJson(response)) as AuditLogBundle
      const report = await verifyAuditBundle(bundle, { verifierKey: log.verifier_key, grantId: this.grantId })
      problems.push(
        ...report.problems.map((p) => `${p.index === undefined ? '' : `entry ${p.index}: `}${p.message}`),
      )
      if (!report.checkpoint) break
      if (
        checkpoint &&
        (report.checkpoint.size !== checkpoint.size || !sameBytes(report.checkpoint.root, checkpoint.root))
      )
        problems.push('the pages of the access log are against different checkpoints')
      checkpoint ??= report.checkpoint
      note ??= bundle.checkpoint
      events += report.verified.length
      reads += report.verified.filter((e) => e.type === 'data.read').length
      const next = typeof bundle.next === 'string' ? new URL(bundle.next).searchParams.get('after') : null
      if (next === null || !/^[0-9]+$/.test(next)) break
      suffix = `/access-log?after=${next}`
    }
    if (!checkpoint || !note) return { ok: false, size: 0, events, reads, problems }
    // Consistency with the checkpoint this link saw last (RFC 9162 §2.1.4).
    const state = await ctx.store.get(this.grantId)
    let previousSize: number | undefined
    const kept = state?.auditCheckpoint
      ? await verifyCheckpointNote(state.auditCheckpoint, log.verifier_key)
      : undefined
    if (kept?.ok) {
      previousSize = kept.checkpoint.size
      const [older, newer] = [kept.checkpoint, checkpoint]
      if (older.size > newer.size) problems.push(`the log shrank from ${older.size} to ${newer.size} leaves`)
      else if (older.size === newer.size) {
        if (!sameBytes(older.root, newer.root))
          problems.push('two different logs of the same size: history was rewritten')
      } else if (older.size > 0) {
        const url = new URL(log.consistency_endpoint)
        url.searchParams.set('first', String(older.size))
        url.searchParams.set('second', String(newer.size))
        const res = await ctx.t.fetch(url.href, { headers: { accept: 'application/json' } })
        const body = res.ok ? ((await readJson(res)) as { proof?: unknown }) : {}
        const proof = Array.isArray(body.proof)
          ? body.proof.map((h) => (typeof h === 'string' ? fromBase64(h) : null))
          : null
        if (
          !proof ||
          proof.some((h) => !h) ||
          !verifyConsistency(older.size, newer.size, older.root, newer.root, proof as Uint8Array[])
        )
          problems.push(
            `the checkpoint of size ${newer.size} is not consistent with the one of size ${older.size} seen before`,
          )
      }
    }
    const ok = problems.length === 0
    if (ok && state && state.auditCheckpoint !== note) {
      const next = { ...state, auditCheckpoint: note, updatedAt: ctx.clock() }
      await ctx.store.set(this.grantId, next)
      this.#snapshot = next
    }
    return {
      ok,
      size: checkpoint.size,
      events,
      reads,
      ...(previousSize === undefined ? {} : { previousSize }),
      problems,
    }
  }

  async revoke(): Promise<void> {
    const ctx = this.#ctx
    const as = await ctx.metadata()
    let done = false
    if (as.grant_management_endpoint) {
      let response: Response | undefined
      try {
        response = await ctx.grantRequest(this.grantId, 'DELETE')
      } catch (err) {
        // The server refused the client_credentials grant (or the scope): fall back to RFC 7009.
        const code = err instanceof ConsentryClientError ? err.code : undefined
        if (code !== 'request_rejected' && code !== 'invalid_request' && code !== 'unauthorized') throw err
      }
      if (response) {
        discard(response)
        if (response.status === 204 || response.status === 200 || response.status === 404) done = true
        else throw await toClientError(response, { grantId: this.grantId, now: ctx.clock() })
      }
    }
    if (!done) {
      const state = await ctx.store.get(this.grantId)
      const token = state?.refreshToken ?? state?.accessToken
      if (token) {
        const auth = await ctx.auth()
        try {
          await oauth.processRevocationResponse(
            await oauth.revocationRequest(as, ctx.oauthClient, auth, token, {
              additionalParameters: {
                token_type_hint: state?.refreshToken ? 'refresh_token' : 'access_token',
              },
              ...ctx.t.opts,
            }),
          )
        } catch (err) {
          throw await toClientError(err, {
            grantId: this.grantId,
            malformed: 'the revocation answer is malformed',
            secrets: [token],
            now: ctx.clock(),
          })
        }
      }
    }
    // Tombstone, then drop the tokens: later calls on this grant throw GrantRevokedError.
    await ctx.endLink(this.grantId, 'revoked', 'revoked_by_client')
  }

  async refresh(): Promise<void> {
    const state = await this.#ctx.loadState(this.grantId)
    this.#snapshot = await this.#ctx.refresh(this.grantId, state.accessToken)
  }

  async amend(
    details: readonly AuthorizationDetail[] | readonly Record<string, unknown>[],
    options?: AmendOptions,
  ): Promise<StartAmendResult> {
    return startAmend(this.#ctx, await this.#ctx.loadState(this.grantId), details, options)
  }

  async renew(options: { expiresIn: number; state?: string }): Promise<StartAmendResult> {
    const expiresIn = options?.expiresIn
    if (!Number.isInteger(expiresIn) || expiresIn < 60)
      throw new InvalidRequestError('expiresIn must be a whole number of seconds, at least 60')
    const state = await this.#ctx.loadState(this.grantId)
    // Only details that carry a lifetime get the new one (a holder's own type may have none).
    const details = state.authorizationDetails.map((d) =>
      'expires_in' in d ? { ...structuredClone(d), expires_in: expiresIn } : structuredClone(d),
    )
    if (!details.some((d) => 'expires_in' in d))
      throw new InvalidRequestError('no detail of this grant has an expires_in to renew')
    return startAmend(this.#ctx, state, details, {
      action: 'replace',
      ...(options.state !== undefined ? { state: options.state } : {}),
    })
  }

  async completeAmend(callbackUrl: string | URL, pending: PendingAmend): Promise<AmendResult> {
    const done = await completeAmend(this.#ctx, await this.#ctx.loadState(this.grantId), callbackUrl, pending)
    if (done.state) this.#snapshot = done.state
    return done.result
  }
}

function toDate(value: string, grantId: string): Date {
  const d = new Date(value)
  if (Number.isNaN(d.getTime()))
    throw new ProtocolError('the grant management answer has a malformed date', { grantId })
  return d
}
