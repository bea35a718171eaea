import { isoDate, MAX_PAGE_SIZE, type Transaction, type TransactionHistoryDetail } from '@consentry/core'
import { checkAccessToken } from '../checks/access-token.ts'
import { currentNonce } from '../checks/dpop.ts'
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
 * consent — accounts, period, fields, datatypes, unattended reads per day — enforced here, never left
 * to the recipient. Every read is audited with counts and ranges, never the data.
 */
export async function resource(ctx: Context, request: Request, url: URL, subpath: string): Promise<Response> {
  if (request.method !== 'GET')
    throw new ProblemError('method_not_allowed', 'this API is read-only', { allow: 'GET' })
  const claims = await checkAccessToken(ctx, request, {
    audience: ctx.urls.resource,
    htu: ctx.urls.resource + subpath,
  })
  const grant = claims.grant_id ? await usableGrant(ctx, claims.grant_id) : null
  if (!grant || grant.clientId !== claims.client_id)
    throw new ResourceAuthError('invalid_token', 'the grant behind this token was revoked or has expired')
  const detail = historyDetail(grant.authorizationDetails)
  if (!detail) throw new ProblemError('outside_consent', 'this grant does not cover transaction history')
  const nonce = { 'dpop-nonce': await currentNonce(ctx) }

  if (subpath === '/accounts')
    return json(await accounts(ctx, grant.id, grant.subject, grant.clientId, detail), 200, nonce)
  const m = /^\/accounts\/([^/]+)\/transactions$/.exec(subpath)
  if (!m) throw new ProblemError('not_found', 'no such resource')
  let accountId: string
  try {
    accountId = decodeURIComponent(m[1]!)
  } catch {
    throw new ProblemError('invalid_parameter', 'malformed account id')
  }
  const page = await transactions(ctx, request, url, {
    grantId: grant.id,
    clientId: grant.clientId,
    subject: grant.subject,
    detail,
    accountId,
  })
  return json(page, 200, nonce)
}

async function accounts(
  ctx: Context,
  grantId: string,
  subject: string,
  clientId: string,
  detail: TransactionHistoryDetail,
) {
  const consented = new Set(detail.accounts ?? [])
  const withBalances = detail.datatypes.includes('balances')
  const owned = (await ctx.config.dataSource.listAccounts(subject)).filter((a) => consented.has(a.id))
  const data = await Promise.all(
    owned.map(async (a) => {
      const balance = withBalances ? await ctx.config.dataSource.getBalance?.(subject, a.id) : null
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
    },
  })
  return { data }
}

interface TxContext {
  grantId: string
  clientId: string
  subject: string
  detail: TransactionHistoryDetail
  accountId: string
}

async function transactions(ctx: Context, request: Request, url: URL, t: TxContext) {
  const { detail, accountId } = t
  // check_consented_account: named in the grant, and still the person's own.
  if (!detail.datatypes.includes('transactions'))
    throw new ProblemError('outside_consent', 'transactions were not consented')
  if (!detail.accounts?.includes(accountId))
    throw new ProblemError('outside_consent', 'this account is not part of the consent')
  const owned = await ctx.config.dataSource.listAccounts(t.subject)
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

  // check_read_quota: an unattended listing (first page, person not present) counts once.
  const attended = request.headers.has(CUSTOMER_PRESENT)
  if (!cursor && !attended) {
    const quota = await ctx.store.consumeReadQuota(
      t.grantId,
      ctx.now(),
      detail.max_reads_per_day,
      ctx.config.readWindowMs,
    )
    if (!quota.allowed) {
      const retryAfter = Math.ceil(quota.retryAfterMs / 1000)
      await ctx.audit.record({
        type: 'data.read_refused',
        actor: { type: 'client', id: t.clientId },
        grantId: t.grantId,
        clientId: t.clientId,
        subject: t.subject,
        data: { account: accountId, reason: 'read_limit_exceeded' },
      })
      throw new ProblemError(
        'read_limit_exceeded',
        `at most ${detail.max_reads_per_day} unattended reads per day were consented`,
        { 'retry-after': String(retryAfter) },
        { retry_after: retryAfter },
      )
    }
  }

  const rows = await ctx.config.dataSource.listTransactions({
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
      attended,
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
