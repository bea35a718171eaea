import {
  type Account,
  type AuditLogBundle,
  type AuthorizationDetail,
  accountListSchema,
  fromBase64,
  type GrantStatus,
  grantResponseSchema,
  isoDate,
  type LogCheckpoint,
  MAX_PAGE_SIZE,
  type Period,
  type Transaction,
  type TransactionPage,
  transactionPageSchema,
  verifyAuditBundle,
  verifyCheckpointNote,
  verifyConsistency,
} from '@consentry/core'
import * as oauth from 'oauth4webapi'
import {
  type AmendOptions,
  type AmendResult,
  completeAmend,
  type PendingAmend,
  type StartAmendResult,
  startAmend,
} from './amend.ts'
import type { ClientContext } from './context.ts'
import {
  ConsentryClientError,
  InvalidRequestError,
  NotFoundError,
  OutsideConsentError,
  ProtocolError,
  RateLimitedError,
} from './errors.ts'
import type { LinkState } from './token-store.ts'
import { discard, fromOAuthError, fromStatus, mapError, parseRetryAfter, readJson } from './transport.ts'

/** What the account holder granted, in one flat view (from the granted `authorization_details`). */
export interface LinkGrant {
  grantId: string
  /** The concrete account ids the person shared. */
  accounts: string[]
  /** The consented transaction period (`{from,to}` or `{lookback_days}`), if transactions were granted. */
  period?: Period
  /** The transaction fields the person left ticked. */
  fields: string[]
  datatypes: string[]
  purpose?: string
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
  accountId: string
  /** First day, `YYYY-MM-DD` (the server clamps to the consented period). */
  from?: string
  /** Last day, `YYYY-MM-DD`. */
  to?: string
  /** Transactions per page, 1‥500 (server default 100). */
  pageSize?: number
}

/** Grant management's view of a grant (`GET /grants/{id}`). */
export interface GrantStatusInfo {
  grantId: string
  status: GrantStatus
  clientId: string
  authorizationDetails: AuthorizationDetail[]
  createdAt: Date
  expiresAt: Date
  endedAt?: Date
  endedReason?: string
}

/** One linked grant: read what it allows, check it, end it. Obtain it from `completeLink` or `client.link(grantId)`. */
export interface Link {
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
   * is unavailable) and delete the link from the token store.
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
  const status = response.status
  let code: string | undefined
  let detail: string | undefined
  if (status >= 400 && status < 500) {
    try {
      const body = (await readJson(response)) as {
        code?: unknown
        error?: unknown
        detail?: unknown
        error_description?: unknown
      }
      code =
        typeof body.code === 'string' ? body.code : typeof body.error === 'string' ? body.error : undefined
      const d = body.detail ?? body.error_description
      if (typeof d === 'string') detail = d
    } catch {
      // no usable body: judge by status alone
    }
  } else {
    discard(response)
  }
  const details = {
    status,
    grantId,
    ...(code ? { serverError: code } : {}),
    ...(detail ? { description: detail } : {}),
  }
  if (status === 429)
    throw new RateLimitedError(parseRetryAfter(response.headers.get('retry-after'), ctx.clock()), details)
  if (status === 403 && (code === undefined || code === 'outside_consent'))
    throw new OutsideConsentError(details)
  if (status === 404) throw new NotFoundError('the server has no such resource', details)
  if (code && status >= 400 && status < 500) {
    const err = fromOAuthError(code, status, detail) as ConsentryClientError
    throw Object.assign(err, { grantId })
  }
  throw fromStatus(response, ctx.clock())
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
    if (response.status === 404) {
      discard(response)
      throw new NotFoundError('grant management does not know this grant', {
        status: 404,
        grantId: this.grantId,
      })
    }
    return resourceJson(this.#ctx, response, grantResponseSchema, this.grantId) as never
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
        else throw fromStatus(response, ctx.clock())
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
          throw mapError(err, 'the revocation answer is malformed', ctx.clock())
        }
      }
    }
    await ctx.store.delete(this.grantId)
    ctx.forgetGrant(this.grantId)
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
