import { isIP } from 'node:net'
import {
  type Grant,
  isoDate,
  MAX_PAGE_SIZE,
  type Transaction,
  type TransactionHistoryDetail,
} from '@consentry/core'
import { checkAccessToken } from '../checks/access-token.ts'
import type { Context } from '../context.ts'
import { ProblemError, ResourceAuthError } from '../errors.ts'
import { consentedRange, historyDetail } from '../grants/describe.ts'
import { usableGrant } from '../grants/lifecycle.ts'
import { json } from '../http/respond.ts'
import { decodeCursor, encodeCursor } from '../resource/cursor.ts'
import type { HolderTransaction } from '../resource/data-source.ts'

const DEFAULT_PAGE_SIZE = 100
/** Present when the person is at the recipient's app right now (FAPI): such reads are not unattended. */
const CUSTOMER_PRESENT = 'x-fapi-customer-ip-address'

/**
 * The transaction-history API. Each request: a DPoP-bound access token (check_access_token), then the
 * grant's live status (one indexed lookup: a revoked grant fails on the very next request), then the
 * consent — accounts, period, fields, datatypes, reads per day — enforced here, never left to the
 * recipient. Every read is audited with counts and ranges, never the data. (`DPoP-Nonce` is added to
 * every response by the router.)
 */
export async function resource(ctx: Context, request: Request, url: URL, subpath: string): Promise<Response> {
  if (request.method !== 'GET')
    throw new ProblemError('method_not_allowed', 'this API is read-only', { allow: 'GET' })
  // The proof's jti is recorded and the token's grant read in one store round trip.
  let loaded: Grant | null | undefined
  const claims = await checkAccessToken(ctx, request, {
    audience: ctx.urls.resource,
    htu: ctx.urls.resource + subpath,
    recordJti: async (c, key, expiresAt) => {
      if (!c.grant_id) return ctx.store.recordJti(key, expiresAt)
      const r = await ctx.store.recordJtiAndGetGrant(key, expiresAt, c.grant_id)
      loaded = r.grant
      return r.firstUse
    },
  })
  const grant = claims.grant_id ? await usableGrant(ctx, claims.grant_id, loaded) : null
  if (!grant || grant.clientId !== claims.client_id)
    throw new ResourceAuthError('invalid_token', 'the grant behind this token was revoked or has expired')
  const detail = historyDetail(grant.authorizationDetails)
  if (!detail) throw new ProblemError('outside_consent', 'this grant does not cover transaction history')
  const attended = checkCustomerPresent(request)
  const read = { grantId: grant.id, clientId: grant.clientId, subject: grant.subject, detail, attended }

  if (subpath === '/accounts') return json(await accounts(ctx, read))
  const m = /^\/accounts\/([^/]+)\/transactions$/.exec(subpath)
  if (!m) throw new ProblemError('not_found', 'no such resource')
  let accountId: string
  try {
    accountId = decodeURIComponent(m[1]!)
  } catch {
    throw new ProblemError('invalid_parameter', 'malformed account id')
  }
  return json(await transactions(ctx, url, { ...read, accountId }))
}

/** Who reads, under which consent, and whether the recipient says the person is present. */
interface Read {
  grantId: string
  clientId: string
  subject: string
  detail: TransactionHistoryDetail
  attended: boolean
}

/**
 * check_customer_present: `x-fapi-customer-ip-address` (FAPI 1.0 Baseline §6.2.2.4) marks a read as
 * *attended*. Its value must be one IP address — IPv4 dotted quad or IPv6 (RFC 4291) text form, no
 * zone — else 400 `invalid_parameter`; a repeated header arrives comma-joined and is refused too.
 */
function checkCustomerPresent(request: Request): boolean {
  const value = request.headers.get(CUSTOMER_PRESENT)
  if (value === null) return false
  if (value.length > 45 || value.includes('%') || isIP(value) === 0)
    throw new ProblemError(
      'invalid_parameter',
      `${CUSTOMER_PRESENT} must be one IPv4 or IPv6 address (the person's, when they are present)`,
    )
  return true
}

/**
 * check_read_quota: one counted read. Unattended reads count against the consented
 * `max_reads_per_day`; attended ones against the holder's `attendedReadsPerDay`, in their own sliding
 * window, because the server cannot verify that the person is really there: a recipient that always
 * says so is still bounded. Over the limit: 429 `read_limit_exceeded` with `Retry-After`, audited as
 * `data.read_refused`.
 */
async function checkReadQuota(ctx: Context, r: Read, resource: Record<string, unknown>): Promise<void> {
  const limit = r.attended ? ctx.config.attendedReadsPerDay : r.detail.max_reads_per_day
  const quota = await ctx.store.consumeReadQuota(
    r.attended ? `attended:${r.grantId}` : r.grantId,
    ctx.now(),
    limit,
    ctx.config.readWindowMs,
    // An allowed read is audited (a synchronous write) before any data leaves.
    { flushedByNextWrite: true },
  )
  if (quota.allowed) return
  const retryAfter = Math.ceil(quota.retryAfterMs / 1000)
  await ctx.audit.record({
    type: 'data.read_refused',
    actor: { type: 'client', id: r.clientId },
    grantId: r.grantId,
    clientId: r.clientId,
    subject: r.subject,
    data: { ...resource, attended: r.attended, reason: 'read_limit_exceeded' },
  })
  throw new ProblemError(
    'read_limit_exceeded',
    r.attended
      ? `at most ${limit} reads a day are served while the app says the person is using it`
      : `at most ${limit} unattended reads per day were consented`,
    { 'retry-after': String(retryAfter) },
    { retry_after: retryAfter },
  )
}

async function accounts(ctx: Context, r: Read) {
  const { grantId, subject, clientId, detail } = r
  const withBalances = detail.datatypes.includes('balances')
  // Every account (and balance) read counts, like a listing: balances are live data worth polling.
  await checkReadQuota(ctx, r, { resource: 'accounts', balances: withBalances })
  const consented = new Set(detail.accounts ?? [])
  const owned = (await ctx.config.dataSource!.listAccounts(subject)).filter((a) => consented.has(a.id))
  const data = await Promise.all(
    owned.map(async (a) => {
      const balance = withBalances ? await ctx.config.dataSource!.getBalance?.(subject, a.id) : null
      return {
        id: a.id,
        name: a.name,
        type: a.type,
        currency: a.currency,
        ...(balance
          ? { balance: { amount: balance.amount, currency: balance.currency, as_of: balance.asOf } }
          : {}),
      }
    }),
  )
  await ctx.audit.record({
    type: 'data.read',
    actor: { type: 'client', id: clientId },
    grantId,
    clientId,
    subject,
    data: {
      resource: 'accounts',
      accounts: data.map((a) => a.id),
      balances: withBalances,
      records: data.length,
      attended: r.attended,
    },
  })
  return { data }
}

async function transactions(ctx: Context, url: URL, t: Read & { accountId: string }) {
  const { detail, accountId } = t
  // check_consented_account: named in the grant, and still the person's own.
  if (!detail.datatypes.includes('transactions'))
    throw new ProblemError('outside_consent', 'transactions were not consented')
  if (!detail.accounts?.includes(accountId))
    throw new ProblemError('outside_consent', 'this account is not part of the consent')
  const owned = await ctx.config.dataSource!.listAccounts(t.subject)
  if (!owned.some((a) => a.id === accountId))
    throw new ProblemError('outside_consent', 'this account is not part of the consent')

  const q = url.searchParams
  const limit = q.has('limit') ? Number(q.get('limit')) : DEFAULT_PAGE_SIZE
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
    throw new ProblemError('invalid_parameter', `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`)
  for (const p of ['from', 'to'] as const)
    if (q.has(p) && !isoDate.safeParse(q.get(p)).success)
      throw new ProblemError('invalid_parameter', `${p} must be a date as YYYY-MM-DD`)

  const consented = consentedRange(detail, ctx.now())!
  const cursorParam = q.get('cursor')
  const cursor = cursorParam ? await decodeCursor(ctx, cursorParam) : undefined
  if (cursor && (cursor.grantId !== t.grantId || cursor.accountId !== accountId))
    throw new ProblemError('invalid_cursor', 'the cursor belongs to another listing')
  // check_consented_period: clamp what is asked to what was consented (re-clamped on every page).
  const askedFrom = cursor?.from ?? q.get('from') ?? consented.from
  const askedTo = cursor?.to ?? q.get('to') ?? consented.to
  const from = askedFrom > consented.from ? askedFrom : consented.from
  const to = askedTo < consented.to ? askedTo : consented.to
  if (from > to)
    throw new ProblemError('outside_consent', `the consented period is ${consented.from} to ${consented.to}`)

  // A listing counts once, at its first page; pages fetched with `cursor` belong to it.
  if (!cursor) await checkReadQuota(ctx, t, { resource: 'transactions', account: accountId })

  const rows = await ctx.config.dataSource!.listTransactions({
    subject: t.subject,
    accountId,
    from,
    to,
    ...(cursor ? { before: cursor.before } : {}),
    limit: limit + 1,
  })
  // Never trust the data source to enforce the consent either: re-check account, period and order.
  const inRange = rows.filter((r) => {
    const day = r.bookedAt.slice(0, 10)
    return r.accountId === accountId && day >= from && day <= to && (!cursor || isBefore(r, cursor.before))
  })
  const pageRows = inRange.slice(0, limit)
  const fields = detail.fields ?? []
  const data = pageRows.map((r) => project(r, fields))
  const last = pageRows.at(-1)
  const pageNo = (cursor?.page ?? 0) + 1
  const next =
    inRange.length > limit && last
      ? await encodeCursor(ctx, {
          grantId: t.grantId,
          accountId,
          from,
          to,
          before: { bookedAt: last.bookedAt, id: last.id },
          page: pageNo,
        })
      : undefined
  await ctx.audit.record({
    type: 'data.read',
    actor: { type: 'client', id: t.clientId },
    grantId: t.grantId,
    clientId: t.clientId,
    subject: t.subject,
    data: {
      resource: 'transactions',
      account: accountId,
      from,
      to,
      records: data.length,
      fields,
      page: pageNo,
      attended: t.attended,
    },
  })
  return { data, period: { from, to }, ...(next ? { next_cursor: next } : {}) }
}

const isBefore = (r: HolderTransaction, b: { bookedAt: string; id: string }) =>
  r.bookedAt < b.bookedAt || (r.bookedAt === b.bookedAt && r.id < b.id)

/** check_consented_fields: only `id`, `account_id` and the consented fields leave the server. */
function project(r: HolderTransaction, fields: readonly string[]): Transaction {
  const all: Record<string, string> = {
    booked_at: r.bookedAt,
    amount: r.amount,
    currency: r.currency,
    description: r.description,
    counterparty: r.counterparty,
    category: r.category,
    status: r.status,
    balance_after: r.balanceAfter,
  }
  const out: Transaction = { id: r.id, account_id: r.accountId }
  for (const f of fields) if (all[f] !== undefined) (out as Record<string, string>)[f] = all[f]!
  return out
}
