import {
  AFFORDABILITY_SUMMARY_JWT_TYPE,
  type AffordabilityMetric,
  type AffordabilitySummaryDetail,
  type AuthorizationDetail,
  affordabilitySummaryType,
} from '@consentry/core'
import { ProblemError } from '../errors.ts'
import { type Categorize, monthlySummary } from '../insights/monthly-summary.ts'
import type { DataSource, HolderTransaction } from '../resource/data-source.ts'
import { type DataType, type DataTypeWords, defineDataType } from './define.ts'

/** Options of the built-in insights (`insights` in the server configuration). */
export interface InsightsOptions {
  /**
   * What each booked transaction is for the monthly totals: `income`, `spending`, `refund`,
   * `transfer` (one leg of a move between the person's own accounts) or `ignore`. Default:
   * `defaultCategorize` (docs/affordability.md).
   */
  categorize?: Categorize
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
/** "2025-12-01" → "Dec 2025". */
const monthText = (date: string) => `${MONTHS[Number(date.slice(5, 7)) - 1] ?? '?'} ${date.slice(0, 4)}`
const cap = (s: string) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : '')

/** What the recipient sees, in the words the issue fixes. */
const seesTotalsOnly = (client: string) =>
  `${client} will see your monthly totals only — not your transactions, descriptions or who you paid.`

/** How monthly totals are put in plain words on the consent page, the dashboard, the receipt and the access log. */
export const AFFORDABILITY_SUMMARY_WORDS: DataTypeWords<AffordabilitySummaryDetail & AuthorizationDetail> = {
  title: 'Monthly totals',
  scope: { legend: 'Accounts', noun: 'account', plural: 'accounts' },
  fields: {
    monthly_income: 'Money in each month',
    monthly_spending: 'Money out each month',
    month_end_balance: 'Balance at the end of each month',
    income_regularity: 'How regular your income is',
    overdraft_days: 'Days overdrawn each month',
  },
  fieldsTitle: 'Monthly figures',
  fieldsLegend: 'Figures for each month',
  sees: (_d, { period, client }) => [seesTotalsOnly(client), `Months covered: ${period}`],
  summary: (_d, { client }) => seesTotalsOnly(client),
  notAllowed: [
    'see your transactions, their descriptions or who you paid',
    'move money or make payments',
    'change your account or contact details',
  ],
  // "monthly totals, Dec 2025 – Nov 2026"
  readText: (d) =>
    typeof d.from === 'string' && typeof d.to === 'string'
      ? `monthly totals, ${monthText(d.from)} – ${monthText(d.to)}`
      : 'monthly totals',
}

/** Transactions read per data-source call. */
const PAGE = 500
/** Refuse to sum more than this many transactions of one account in one summary (a runaway source). */
const MAX_TRANSACTIONS_PER_ACCOUNT = 500_000
/** Pages searched before the period for the last booked transaction of an account without one in it. */
const MAX_OPENING_PAGES = 20

/**
 * The built-in `affordability_summary` data type, served from the holder's {@link DataSource}: the
 * monthly totals of the chosen accounts over the consented period, computed here from every booked
 * transaction (docs/affordability.md), as JSON or — with `Accept: application/jwt` — as a compact JWS
 * signed by the holder (`typ: affordability-summary+jwt`).
 */
export function affordabilitySummaryDataType(source: DataSource, options: InsightsOptions = {}): DataType {
  const currencies = async (subject: string, ids: readonly string[]) => {
    const owned = await source.listAccounts(subject)
    return ids.flatMap((id) => owned.filter((a) => a.id === id).map((a) => ({ id, currency: a.currency })))
  }
  return defineDataType({
    detail: affordabilitySummaryType,
    words: AFFORDABILITY_SUMMARY_WORDS,
    listScope: async (subject) =>
      (await source.listAccounts(subject)).map((a) => ({
        id: a.id,
        name: a.name,
        meta: [cap(a.type), a.currency].filter(Boolean).join(' · '),
      })),
    // One summary is in one currency: the person is asked to choose accounts that share one.
    checkChoice: async (detail, subject) => {
      const chosen = await currencies(subject, detail.accounts ?? [])
      return new Set(chosen.map((a) => a.currency)).size > 1
        ? 'Monthly totals are worked out in one currency: choose accounts that all hold the same currency.'
        : undefined
    },
    handlers: {
      summary: {
        async get(read, request, holder) {
          const period = read.period!
          const accounts = await currencies(read.subject, read.scope)
          if (accounts.length === 0)
            throw new ProblemError('outside_consent', 'none of the consented accounts is held any more')
          const currency = accounts[0]!.currency
          if (accounts.some((a) => a.currency !== currency))
            throw new ProblemError(
              'outside_consent',
              'the consented accounts now hold different currencies; monthly totals cover one currency',
            )
          const transactions: HolderTransaction[] = []
          const openingBalances: Record<string, string> = {}
          for (const { id } of accounts) {
            const own = await readAll(source, read.subject, id, period.from, period.to)
            transactions.push(...own)
            if (!own.some((t) => t.status === 'booked')) {
              const before = await lastBookedBefore(source, read.subject, id, period.from)
              if (before) openingBalances[id] = before.balanceAfter
            }
          }
          const metrics = read.fields as AffordabilityMetric[]
          const summary = monthlySummary({
            period,
            accounts,
            currency,
            transactions,
            openingBalances,
            metrics,
            ...(options.categorize ? { categorize: options.categorize } : {}),
          })
          const signed = prefersJwt(request.headers.get('accept'))
          const audit = {
            from: period.from,
            to: period.to,
            accounts: summary.accounts,
            metrics,
            records: summary.months.length,
            signed,
          }
          const headers = { vary: 'accept' }
          if (!signed) return { body: summary, audit, headers }
          const jws = await holder.sign(
            { ...summary, grant_id: read.grantId, metrics },
            AFFORDABILITY_SUMMARY_JWT_TYPE,
          )
          return { body: jws, contentType: 'application/jwt', audit, headers }
        },
      },
    },
  })
}

/** Every transaction of an account booked in [from, to], following the data source's pages. */
async function readAll(
  source: DataSource,
  subject: string,
  accountId: string,
  from: string,
  to: string,
): Promise<HolderTransaction[]> {
  const out: HolderTransaction[] = []
  let before: { bookedAt: string; id: string } | undefined
  for (;;) {
    const page = await source.listTransactions({
      subject,
      accountId,
      from,
      to,
      ...(before ? { before } : {}),
      limit: PAGE,
    })
    // Never trust the source: only this account, and strictly older than the last row seen.
    const fresh = page.filter(
      (t) =>
        t.accountId === accountId &&
        (!before || t.bookedAt < before.bookedAt || (t.bookedAt === before.bookedAt && t.id < before.id)),
    )
    out.push(...fresh)
    if (out.length > MAX_TRANSACTIONS_PER_ACCOUNT)
      throw new Error('the data source returned more transactions than a summary can sum')
    const last = fresh.at(-1)
    if (page.length < PAGE || !last) return out
    before = { bookedAt: last.bookedAt, id: last.id }
  }
}

/** The last booked transaction of an account before `day`, searching a bounded number of pages back. */
async function lastBookedBefore(
  source: DataSource,
  subject: string,
  accountId: string,
  day: string,
): Promise<HolderTransaction | undefined> {
  const to = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10)
  let before: { bookedAt: string; id: string } | undefined
  for (let i = 0; i < MAX_OPENING_PAGES; i++) {
    const page = await source.listTransactions({
      subject,
      accountId,
      from: '1970-01-01',
      to,
      ...(before ? { before } : {}),
      limit: 100,
    })
    const own = page.filter((t) => t.accountId === accountId && t.bookedAt.slice(0, 10) <= to)
    const booked = own.find((t) => t.status === 'booked')
    if (booked) return booked
    const last = own.at(-1)
    if (page.length < 100 || !last) return undefined
    before = { bookedAt: last.bookedAt, id: last.id }
  }
  return undefined
}

/**
 * Content negotiation (RFC 9110 §12.5.1): the signed form when `application/jwt` is acceptable and
 * at least as preferred as JSON; JSON otherwise (including no `Accept`, `*\/*` and anything unknown).
 */
export function prefersJwt(accept: string | null): boolean {
  if (!accept) return false
  let jwt = 0
  let json = 0
  for (const part of accept.slice(0, 1024).split(',')) {
    const [range, ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const qParam = params.find((p) => p.startsWith('q='))
    const q = qParam ? Number(qParam.slice(2)) : 1
    if (!Number.isFinite(q) || q < 0 || q > 1) continue
    if (range === 'application/jwt') jwt = Math.max(jwt, q)
    else if (range === 'application/json') json = Math.max(json, q)
  }
  return jwt > 0 && jwt >= json
}
