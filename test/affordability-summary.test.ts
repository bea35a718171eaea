/**
 * `affordability_summary` over real HTTP: the holder's monthly totals equal — to the cent — what an
 * independent implementation in this file computes from a `transaction_history` grant for the same
 * person, period and accounts (a hand-made ledger with month boundaries, partial months, refunds,
 * own-account transfers, a transfer to an account not chosen, pending rows, an overdraft and an empty
 * month; and Harbor Pay's two seeded years); the signed form verifies with the published JWKS and
 * fails when any byte changes; a summary-only grant reads nothing else; and the person's pages say
 * in plain words what is shared.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createConsentClient,
  InvalidSignatureError,
  OutsideConsentError,
  registerClient,
  verifyAffordabilitySummary,
} from '@consentry/client'
import type { AffordabilitySummary } from '@consentry/core'
import {
  createConsentServer,
  type DataSource,
  type HolderTransaction,
  memoryStore,
  nodeListener,
} from '@consentry/server'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { FormBrowser, formAction, hiddenInput } from './helpers/browser.ts'
import {
  browserFor,
  consent,
  exchange,
  insecure,
  link,
  oauth,
  pushRequest,
  type Recipient,
  registerRecipient,
  resourceGet,
} from './helpers/recipient.ts'

const SEES =
  'Beacon Lending will see your monthly totals only — not your transactions, descriptions or who you paid.'
const ALL_METRICS = [
  'monthly_income',
  'monthly_spending',
  'month_end_balance',
  'income_regularity',
  'overdraft_days',
]
const HISTORY_FIELDS = ['booked_at', 'amount', 'currency', 'category', 'status', 'balance_after']

// ---- a hand-made ledger ------------------------------------------------------------------------

const PERIOD = { from: '2025-12-10', to: '2026-04-15' }
const NOW = Date.parse('2026-05-01T12:00:00Z')

const ACCOUNTS = [
  { id: 'acc_w', name: 'Wallet', type: 'wallet', currency: 'EUR', opening: 50000 },
  { id: 'acc_s', name: 'Savings', type: 'savings', currency: 'EUR', opening: 100000 },
  { id: 'acc_x', name: 'Joint account', type: 'wallet', currency: 'EUR', opening: 0 },
  { id: 'acc_u', name: 'Dollar account', type: 'wallet', currency: 'USD', opening: 10000 },
]

/** [account, booked at, cents, category, status] — balances are worked out below. */
type Row = [string, string, number, string, ('booked' | 'pending')?]
const ROWS: Row[] = [
  // Before the period: not counted, but they set the opening balance.
  ['acc_w', '2025-12-01T09:00:00Z', 10000, 'income'],
  ['acc_w', '2025-12-09T23:59:59Z', -1000, 'groceries'],
  // December (partial: from the 10th).
  ['acc_w', '2025-12-10T00:00:00Z', 250000, 'salary'],
  ['acc_w', '2025-12-15T08:00:00Z', -120000, 'housing'],
  ['acc_w', '2025-12-20T12:00:00Z', -8000, 'shopping'],
  ['acc_w', '2025-12-27T12:00:00Z', 8000, 'refund'],
  // Wallet → savings: a pair, five seconds apart.
  ['acc_w', '2025-12-26T10:00:00Z', -40000, 'transfer'],
  ['acc_s', '2025-12-26T10:00:05Z', 40000, 'transfer'],
  ['acc_s', '2025-12-31T01:00:00Z', 321, 'interest'],
  ['acc_w', '2025-12-31T23:59:59Z', -5000, 'eating_out'],
  // January: the first second of the month, a transfer to an account not chosen, an overdraft.
  ['acc_w', '2026-01-01T00:00:00Z', -6000, 'eating_out'],
  ['acc_w', '2026-01-10T06:00:00Z', 250000, 'salary'],
  ['acc_w', '2026-01-12T09:00:00Z', -30000, 'transfer'],
  ['acc_x', '2026-01-12T09:00:00Z', 30000, 'transfer'],
  ['acc_w', '2026-01-25T15:00:00Z', -400000, 'shopping'],
  // A refund bigger than the month's other spending would not be; this one is netted in January.
  ['acc_w', '2026-01-28T15:00:00Z', 15050, 'refund'],
  // February: nothing at all (and the wallet stays overdrawn all month).
  // March: salary, and savings → wallet across midnight (still one pair, under 24 hours).
  ['acc_w', '2026-03-02T06:00:00Z', 260000, 'salary'],
  ['acc_s', '2026-03-05T23:30:00Z', -25000, 'transfer'],
  ['acc_w', '2026-03-06T08:00:00Z', 25000, 'transfer'],
  ['acc_w', '2026-03-18T18:45:00Z', -4550, 'groceries'],
  // April (partial: to the 15th), with a pending row and rows either side of the last day.
  ['acc_w', '2026-04-03T10:00:00Z', -2000, 'transport'],
  ['acc_w', '2026-04-14T10:00:00Z', -9999, 'shopping', 'pending'],
  ['acc_w', '2026-04-15T23:59:59Z', -500, 'eating_out'],
  ['acc_w', '2026-04-16T00:00:00Z', -700, 'eating_out'],
  // The dollar account (another currency: never in a EUR summary).
  ['acc_u', '2026-01-05T10:00:00Z', 5000, 'income'],
]

const money = (cents: number) => {
  const sign = cents < 0 ? '-' : ''
  const abs = Math.abs(cents)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

function ledger(): HolderTransaction[] {
  const balance = new Map(ACCOUNTS.map((a) => [a.id, a.opening]))
  const sorted = [...ROWS].sort((a, b) => a[1].localeCompare(b[1]))
  return sorted.map(([accountId, bookedAt, cents, category, status = 'booked'], i) => {
    const after = balance.get(accountId)! + cents
    // Pending rows show what the balance would be; booked rows carry the booked balance.
    if (status === 'booked') balance.set(accountId, after)
    return {
      id: `tx_${String(i).padStart(4, '0')}`,
      accountId,
      bookedAt: bookedAt.replace('Z', '.000Z'),
      amount: money(cents),
      currency: ACCOUNTS.find((a) => a.id === accountId)!.currency,
      description: `Row ${i}`,
      counterparty: 'Someone',
      category,
      status,
      balanceAfter: money(after),
    }
  })
}

function ledgerSource(txs: HolderTransaction[]): DataSource {
  const owned = (subject: string, id: string) => subject === 'alice' && ACCOUNTS.some((a) => a.id === id)
  return {
    async listAccounts(subject) {
      return subject === 'alice'
        ? ACCOUNTS.map(({ id, name, type, currency }) => ({ id, name, type, currency }))
        : []
    },
    async getBalance(subject, accountId) {
      if (!owned(subject, accountId)) return null
      const last = txs.filter((t) => t.accountId === accountId && t.status === 'booked').at(-1)
      return { amount: last?.balanceAfter ?? '0.00', currency: 'EUR', asOf: new Date(NOW).toISOString() }
    },
    async listTransactions(q) {
      if (!owned(q.subject, q.accountId)) return []
      return txs
        .filter((t) => t.accountId === q.accountId)
        .filter((t) => t.bookedAt.slice(0, 10) >= q.from && t.bookedAt.slice(0, 10) <= q.to)
        .filter(
          (t) =>
            !q.before ||
            t.bookedAt < q.before.bookedAt ||
            (t.bookedAt === q.before.bookedAt && t.id < q.before.id),
        )
        .sort((a, b) =>
          a.bookedAt === b.bookedAt ? b.id.localeCompare(a.id) : b.bookedAt.localeCompare(a.bookedAt),
        )
        .slice(0, q.limit)
    },
  }
}

// ---- the independent implementation --------------------------------------------------------------

interface WireTx {
  id: string
  account_id: string
  booked_at: string
  amount: string
  currency: string
  category: string
  status: string
  balance_after: string
}

/** "−12.5" → −1250 (the test's figures stay far below 2^53 cents). */
const cents = (s: string) => {
  const [whole, frac = ''] = s.replace('-', '').split('.')
  const v = Number(whole) * 100 + Number(frac.padEnd(2, '0').slice(0, 2))
  return s.startsWith('-') ? -v : v
}

/**
 * docs/affordability.md, implemented again from the transactions a `transaction_history` grant
 * serves — written separately from the server's module: Number cents, a month → totals map and a
 * per-day balance table instead of BigInt units and a day walk.
 */
function independentSummary(
  period: { from: string; to: string },
  currency: string,
  accountIds: string[],
  served: WireTx[],
): AffordabilitySummary {
  const booked = served.filter((t) => t.status === 'booked' && t.currency === currency)
  const time = (t: WireTx) => new Date(t.booked_at).getTime()
  const dayOf = (t: WireTx) => new Date(t.booked_at).toISOString().slice(0, 10)
  // Calendar days of the period, and the months they fall in.
  const days: string[] = []
  for (
    let d = Date.parse(`${period.from}T00:00:00Z`);
    d <= Date.parse(`${period.to}T00:00:00Z`);
    d += 86_400_000
  )
    days.push(new Date(d).toISOString().slice(0, 10))
  const months = [...new Set(days.map((d) => d.slice(0, 7)))]

  // Own-account transfers.
  const transfers = booked.filter((t) => t.category === 'transfer')
  const byOrder = (a: WireTx, b: WireTx) =>
    time(a) - time(b) || a.account_id.localeCompare(b.account_id) || a.id.localeCompare(b.id)
  const outs = transfers.filter((t) => cents(t.amount) < 0).sort(byOrder)
  const ins = transfers.filter((t) => cents(t.amount) > 0).sort(byOrder)
  const excluded = new Set<string>()
  for (const out of outs) {
    const candidates = ins
      .filter(
        (t) =>
          !excluded.has(t.id) &&
          t.account_id !== out.account_id &&
          cents(t.amount) === -cents(out.amount) &&
          Math.abs(time(t) - time(out)) <= 86_400_000,
      )
      .sort((a, b) => Math.abs(time(a) - time(out)) - Math.abs(time(b) - time(out)) || byOrder(a, b))
    if (candidates[0]) {
      excluded.add(out.id)
      excluded.add(candidates[0].id)
    }
  }
  const totals = new Map(months.map((m) => [m, { income: 0, spending: 0 }]))
  for (const t of booked) {
    if (excluded.has(t.id)) continue
    const m = totals.get(dayOf(t).slice(0, 7))!
    const c = cents(t.amount)
    if (t.category === 'refund') m.spending -= c
    else if (c > 0) m.income += c
    else if (c < 0) m.spending -= c
  }

  // Balances: the day table per account — where it starts, and every balance it passes through.
  const endOfDay = new Map<string, number>(days.map((d) => [d, 0]))
  const overdrawn = new Set<string>()
  for (const id of accountIds) {
    const mine = booked.filter((t) => t.account_id === id).sort(byOrder)
    let balance = mine[0] ? cents(mine[0].balance_after) - cents(mine[0].amount) : 0
    for (const d of days) {
      const passes = [balance, ...mine.filter((t) => dayOf(t) === d).map((t) => cents(t.balance_after))]
      balance = passes.at(-1)!
      if (passes.some((b) => b < 0)) overdrawn.add(d)
      endOfDay.set(d, endOfDay.get(d)! + balance)
    }
  }
  const lastIn = (m: string) => days.filter((d) => d.startsWith(m)).at(-1)!
  const whole = (m: string) => {
    const first = `${m}-01`
    const next = new Date(Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5, 7)), 1))
    const last = new Date(next.getTime() - 86_400_000).toISOString().slice(0, 10)
    return first >= period.from && last <= period.to
  }
  const incomes = months.filter(whole).map((m) => totals.get(m)!.income)
  const sorted = [...incomes].sort((a, b) => a - b)
  const n = sorted.length
  const median = n === 0 ? 0 : n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2
  const medianText = Number.isInteger(median) ? money(median) : `${money(Math.floor(median))}5`
  return {
    period,
    currency,
    accounts: accountIds,
    months: months.map((m) => ({
      month: m,
      partial: !whole(m),
      income: money(totals.get(m)!.income),
      spending: money(totals.get(m)!.spending),
      month_end_balance: money(endOfDay.get(lastIn(m))!),
      overdraft_days: days.filter((d) => d.startsWith(m) && overdrawn.has(d)).length,
    })),
    income_regularity: {
      months: n,
      months_within_15_percent: incomes.filter((x) => Math.abs(x - median) <= 0.15 * Math.abs(median)).length,
      ...(n ? { median_income: medianText } : {}),
    },
  }
}

// ---- servers -----------------------------------------------------------------------------------

let http: Server
let issuer: string
let r: Recipient
let harbor: HarborPay
let hr: Recipient
const HARBOR_TODAY = '2026-11-20'
const started = Date.now()
const harborNow = () => Date.parse(`${HARBOR_TODAY}T12:00:00Z`) + (Date.now() - started)
const ledgerNow = () => NOW + (Date.now() - started)

beforeAll(async () => {
  let handle: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void =
    () => {}
  http = createServer((req, res) => handle(req, res))
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok))
  issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  const server = await createConsentServer({
    issuer,
    store: memoryStore(),
    dataSource: ledgerSource(ledger()),
    accountHolders: {
      verifyPassword: async (u, p) =>
        u === 'alice' && p === 'alice' ? { subject: 'alice', name: 'Alice' } : null,
    },
    initialAccessToken: 'demo-initial-access-token',
    now: ledgerNow,
  })
  handle = nodeListener(server.fetch)
  r = await registerRecipient(issuer)
  r.client[oauth.clockSkew] = Math.round((ledgerNow() - Date.now()) / 1000)

  harbor = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    today: HARBOR_TODAY,
    maintenance: false,
    overrides: { now: harborNow },
  })
  hr = await registerRecipient(harbor.issuer)
  hr.client[oauth.clockSkew] = Math.round((harborNow() - Date.now()) / 1000)
})
afterAll(async () => {
  http?.close()
  await harbor?.close()
})

const totalsDetail = (period: unknown, extra: Record<string, unknown> = {}) => ({
  type: 'affordability_summary',
  period,
  purpose: 'credit_assessment',
  expires_in: 7 * 86400,
  max_reads_per_day: 20,
  ...extra,
})
const historyDetail = (period: unknown) => ({
  type: 'transaction_history',
  datatypes: ['accounts', 'transactions'],
  fields: HISTORY_FIELDS,
  period,
  purpose: 'credit_assessment',
  expires_in: 7 * 86400,
  max_reads_per_day: 20,
})
const grantIdOf = (tokens: unknown) => (tokens as { grant_id: string }).grant_id

/** Every transaction a history grant serves for `accounts`, following the cursors. */
async function readHistory(base: string, token: string, DPoP: oauth.DPoPHandle, accounts: string[]) {
  const out: WireTx[] = []
  let period: { from: string; to: string } | undefined
  for (const id of accounts) {
    let url: string | undefined = `${base}/api/accounts/${id}/transactions?limit=500`
    while (url) {
      const res = await resourceGet(token, url, DPoP)
      expect(res.status).toBe(200)
      const page = await res.json()
      period ??= page.period
      out.push(...page.data)
      url = page.next_cursor
        ? `${base}/api/accounts/${id}/transactions?cursor=${page.next_cursor}`
        : undefined
    }
  }
  return { transactions: out, period: period! }
}

describe('affordability_summary: the figures', () => {
  it('equal, to the cent, an independent computation from a transaction_history grant (hand-made ledger)', async () => {
    const chosen = ['acc_w', 'acc_s']
    const totals = await link(issuer, r, [totalsDetail(PERIOD)], { accounts: chosen })
    const res = await resourceGet(
      totals.tokens.access_token,
      `${issuer}/api/affordability-summary`,
      totals.DPoP,
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(res.headers.get('vary')).toMatch(/accept/i)
    const summary = await res.json()

    const history = await link(issuer, r, [historyDetail(PERIOD)], { accounts: chosen })
    const served = await readHistory(issuer, history.tokens.access_token, history.DPoP, chosen)
    expect(served.period).toEqual(PERIOD)
    const expected = independentSummary(PERIOD, 'EUR', chosen, served.transactions)
    expect(summary).toEqual(expected)

    // And the ledger's own story, spelled out (so both implementations cannot be wrong together).
    expect(summary.months.map((m: { month: string; partial: boolean }) => [m.month, m.partial])).toEqual([
      ['2025-12', true],
      ['2026-01', false],
      ['2026-02', false],
      ['2026-03', false],
      ['2026-04', true],
    ])
    const dec = summary.months[0]
    expect(dec.income).toBe('2503.21') // salary on the first second of the period + interest
    expect(dec.spending).toBe('1250.00') // rent 1200 + 80 − 80 refund + 50 at 23:59:59 on the 31st
    const jan = summary.months[1]
    expect(jan.income).toBe('2500.00')
    expect(jan.spending).toBe('4209.50') // 60 + 300 to the joint account + 4000 − 150.50 refund
    expect(jan.overdraft_days).toBe(7) // from the 25th
    const feb = summary.months[2]
    expect(feb).toMatchObject({ income: '0.00', spending: '0.00', overdraft_days: 28 })
    expect(feb.month_end_balance).toBe(jan.month_end_balance)
    const apr = summary.months[4]
    expect(apr.spending).toBe('25.00') // the pending 99.99 and the 16th are not in
    expect(summary.income_regularity).toEqual({
      months: 3,
      months_within_15_percent: 2,
      median_income: '2500.00',
    })
  })

  it('equal the independent computation over Harbor Pay’s two seeded years (365 days, both accounts)', async () => {
    const period = { lookback_days: 365 }
    const accounts = ['acc_alice_wallet', 'acc_alice_savings']
    const totals = await link(harbor.issuer, hr, [totalsDetail(period)], { accounts })
    const res = await resourceGet(
      totals.tokens.access_token,
      `${harbor.issuer}/api/affordability-summary`,
      totals.DPoP,
    )
    expect(res.status).toBe(200)
    const summary = await res.json()
    const history = await link(harbor.issuer, hr, [historyDetail(period)], { accounts })
    const served = await readHistory(harbor.issuer, history.tokens.access_token, history.DPoP, accounts)
    expect(summary.period).toEqual(served.period)
    expect(served.transactions.length).toBeGreaterThan(500)
    expect(served.transactions.some((t) => t.status === 'pending')).toBe(true)
    expect(summary).toEqual(independentSummary(served.period, 'EUR', accounts, served.transactions))
    expect(summary.months).toHaveLength(13)
    expect(summary.months[0].partial).toBe(true)
    expect(summary.months[12].partial).toBe(true)
  })

  it('shows only the consented metrics', async () => {
    const l = await link(
      issuer,
      r,
      [totalsDetail(PERIOD, { metrics: ['monthly_income', 'overdraft_days'] })],
      {
        accounts: ['acc_w'],
      },
    )
    const body = await (
      await resourceGet(l.tokens.access_token, `${issuer}/api/affordability-summary`, l.DPoP)
    ).json()
    expect(Object.keys(body).sort()).toEqual(['accounts', 'currency', 'months', 'period'])
    for (const m of body.months)
      expect(Object.keys(m).sort()).toEqual(['income', 'month', 'overdraft_days', 'partial'])
  })

  it('honours metrics the person unticks on the consent page, and refuses accounts in two currencies', async () => {
    const pending = await pushRequest(r, [totalsDetail(PERIOD)])
    const browser = browserFor(issuer)
    const { res, url } = await browser.follow(pending.url, issuer)
    const page = await res.text()
    expect(url).toContain('/authorize/')
    // Every metric is offered as a checkbox, even though the request left `metrics` out.
    for (const m of ALL_METRICS) expect(page).toContain(`name="field" value="${m}"`)
    const post = (accounts: string[], fields: string[], from: string) =>
      browser.request(formAction(from, url), {
        form: { csrf: hiddenInput(from, 'csrf'), decision: 'allow', account: accounts, field: fields },
      })
    const mixed = await post(['acc_w', 'acc_u'], ALL_METRICS, page)
    expect(mixed.status).toBe(400)
    const again = await mixed.text()
    expect(again).toContain('Monthly totals are worked out in one currency')
    const ok = await post(['acc_w'], ['monthly_spending', 'month_end_balance'], again)
    expect(ok.status).toBe(303)
    const { tokens, DPoP } = await exchange(r, pending, ok.headers.get('location')!)
    const grant = (tokens as unknown as { authorization_details: Array<Record<string, unknown>> })
      .authorization_details[0]!
    expect(grant.metrics).toEqual(['monthly_spending', 'month_end_balance'])
    expect(grant.accounts).toEqual(['acc_w'])
    const body = await (
      await resourceGet(tokens.access_token, `${issuer}/api/affordability-summary`, DPoP)
    ).json()
    expect(body.accounts).toEqual(['acc_w'])
    expect(Object.keys(body.months[0]).sort()).toEqual(['month', 'month_end_balance', 'partial', 'spending'])
    expect(body.income_regularity).toBeUndefined()
  })
})

describe('affordability_summary: the signed form', () => {
  it('verifies with the published JWKS, carries the same members as the JSON, and fails when any byte changes', async () => {
    const l = await link(issuer, r, [totalsDetail(PERIOD)], { accounts: ['acc_w', 'acc_s'] })
    const url = `${issuer}/api/affordability-summary`
    const json = await (await resourceGet(l.tokens.access_token, url, l.DPoP)).json()
    const res = await resourceGet(l.tokens.access_token, url, l.DPoP, { accept: 'application/jwt' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/jwt')
    expect(res.headers.get('vary')).toMatch(/accept/i)
    const jws = await res.text()
    expect(jws).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)

    const jwks = await (await fetch(`${issuer}/jwks`)).json()
    const header = decodeProtectedHeader(jws)
    expect(header.typ).toBe('affordability-summary+jwt')
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toContain(header.kid)
    // jose alone, with the published keys: the holder signed it.
    const { payload } = await jwtVerify(jws, createLocalJWKSet(jwks), {
      issuer,
      typ: 'affordability-summary+jwt',
    })
    expect(payload.grant_id).toBe(grantIdOf(l.tokens))
    expect(payload.metrics).toEqual(ALL_METRICS)
    expect(typeof payload.iat).toBe('number')
    expect(payload.aud).toBe(r.client.client_id)
    for (const k of ['period', 'currency', 'accounts', 'months', 'income_regularity'])
      expect(payload[k]).toEqual(json[k])
    // `sub` is the recipient's pairwise identifier: the same as in its consent receipt, not "alice".
    const receipt = decodeJwt((l.tokens as unknown as { consent_receipt: string }).consent_receipt)
    expect(payload.sub).toBe(receipt.sub)
    expect(payload.sub).not.toContain('alice')

    // The client's one call, offline with the saved JWKS.
    const verified = await verifyAffordabilitySummary(jws, { issuer, jwks })
    expect(verified.summary).toEqual(json)
    expect(verified.claims.grant_id).toBe(grantIdOf(l.tokens))

    // Any changed character — header, payload, signature or separator — fails.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    let failures = 0
    for (let i = 0; i < jws.length; i++) {
      const c = jws[i]!
      // Flip the top bit of the 6-bit group: the last character of a segment carries data there.
      const swapped = c === '.' ? 'A' : alphabet[(alphabet.indexOf(c) + 32) % 64]!
      const tampered = jws.slice(0, i) + swapped + jws.slice(i + 1)
      await expect(verifyAffordabilitySummary(tampered, { issuer, jwks })).rejects.toBeInstanceOf(
        InvalidSignatureError,
      )
      failures++
    }
    expect(failures).toBe(jws.length)
    // Another issuer, or a key set without the holder's key, fails too.
    await expect(
      verifyAffordabilitySummary(jws, { issuer: 'https://other.example', jwks }),
    ).rejects.toBeInstanceOf(InvalidSignatureError)
    const harborJwks = await (await fetch(`${harbor.issuer}/jwks`)).json()
    await expect(verifyAffordabilitySummary(jws, { issuer, jwks: harborJwks })).rejects.toBeInstanceOf(
      InvalidSignatureError,
    )
  })

  it('answers JSON unless application/jwt is preferred', async () => {
    const l = await link(issuer, r, [totalsDetail(PERIOD)], { accounts: ['acc_w'] })
    const url = `${issuer}/api/affordability-summary`
    for (const [accept, type] of [
      ['*/*', 'application/json'],
      ['application/json, application/jwt;q=0.5', 'application/json'],
      ['application/jwt;q=0', 'application/json'],
      ['application/jwt, application/json;q=0.9', 'application/jwt'],
      ['text/html', 'application/json'],
    ] as const) {
      const res = await resourceGet(l.tokens.access_token, url, l.DPoP, { accept })
      expect(res.status, accept).toBe(200)
      expect(res.headers.get('content-type'), accept).toContain(type)
    }
  })
})

describe('affordability_summary: what the grant cannot do', () => {
  it('gets 403 outside_consent on every transaction and balance route, and a history grant cannot read it', async () => {
    const l = await link(issuer, r, [totalsDetail(PERIOD)], { accounts: ['acc_w', 'acc_s'] })
    const token = l.tokens.access_token
    for (const path of [
      '/accounts',
      '/accounts?balances=1',
      '/accounts/acc_w/transactions',
      '/accounts/acc_w/transactions?from=2026-01-01&to=2026-01-31&limit=500',
      '/accounts/acc_s/transactions',
      '/accounts/acc_x/transactions',
      '/accounts/acc_u/transactions',
      '/accounts/unknown/transactions',
    ]) {
      const res = await resourceGet(token, `${issuer}/api${path}`, l.DPoP)
      expect(res.status, path).toBe(403)
      expect(res.headers.get('content-type'), path).toContain('application/problem+json')
      expect((await res.json()).code, path).toBe('outside_consent')
    }
    // Its own route still answers.
    expect((await resourceGet(token, `${issuer}/api/affordability-summary`, l.DPoP)).status).toBe(200)

    const h = await link(issuer, r, [historyDetail(PERIOD)], { accounts: ['acc_w'] })
    const res = await resourceGet(h.tokens.access_token, `${issuer}/api/affordability-summary`, h.DPoP)
    expect(res.status).toBe(403)
    expect((await res.json()).code).toBe('outside_consent')
  })

  it('counts every summary as a read (signed or not), stops on the request after a revocation, and is announced', async () => {
    const l = await link(issuer, r, [totalsDetail(PERIOD, { max_reads_per_day: 2 })], { accounts: ['acc_w'] })
    const url = `${issuer}/api/affordability-summary`
    expect((await resourceGet(l.tokens.access_token, url, l.DPoP)).status).toBe(200)
    expect(
      (await resourceGet(l.tokens.access_token, url, l.DPoP, { accept: 'application/jwt' })).status,
    ).toBe(200)
    const refused = await resourceGet(l.tokens.access_token, url, l.DPoP)
    expect(refused.status).toBe(429)
    expect((await refused.json()).code).toBe('read_limit_exceeded')
    // Attended reads have their own allowance.
    const attended = await resourceGet(l.tokens.access_token, url, l.DPoP, {
      'x-fapi-customer-ip-address': '203.0.113.7',
    })
    expect(attended.status).toBe(200)
    const res = await oauth.revocationRequest(r.as, r.client, r.auth, l.tokens.refresh_token!, insecure)
    await oauth.processRevocationResponse(res)
    const after = await resourceGet(l.tokens.access_token, url, l.DPoP, {
      'x-fapi-customer-ip-address': '203.0.113.7',
    })
    expect(after.status).toBe(401)

    const meta = await (await fetch(`${issuer}/.well-known/oauth-protected-resource/api`)).json()
    expect(meta.consentry_routes).toContainEqual({
      type: 'affordability_summary',
      method: 'GET',
      path: '/affordability-summary',
    })
    expect(meta.authorization_details_types_supported).toContain('affordability_summary')
  })

  it('says in plain words what is and is not shared: consent page, dashboard, receipt and access log', async () => {
    const pending = await pushRequest(r, [totalsDetail(PERIOD)])
    const answer = await consent(issuer, pending, { accounts: ['acc_w', 'acc_s'] })
    expect(answer.page).toContain(SEES)
    expect(answer.page).toContain('Figures for each month')
    expect(answer.page).toContain('see your transactions, their descriptions or who you paid')
    const { tokens, DPoP } = await exchange(r, pending, answer.location!)
    const grantId = grantIdOf(tokens)
    const receipt = decodeJwt((tokens as unknown as { consent_receipt: string }).consent_receipt)
    const words = (receipt.in_plain_words as Array<{ summary?: string; shares: string[]; title: string }>)[0]!
    expect(words.title).toBe('Monthly totals')
    expect(words.summary).toBe(SEES)
    expect(words.shares).toContain(SEES)

    expect((await resourceGet(tokens.access_token, `${issuer}/api/affordability-summary`, DPoP)).status).toBe(
      200,
    )
    const browser = browserFor(issuer)
    const dashboard = await (await browser.request(`${issuer}/consents`)).text()
    expect(dashboard).toContain(SEES)
    const detail = await (await browser.request(`${issuer}/consents/${grantId}`)).text()
    expect(detail).toContain(SEES)
    expect(detail).toContain('monthly totals, Dec 2025 – Apr 2026')
  })
})

describe('affordability_summary with @consentry/client', () => {
  it('link.affordabilitySummary() reads the JSON; { signed: true } the JWS, verified against the holder’s keys', async () => {
    // A holder on the real clock: the SDK dates its DPoP proofs with it.
    const hp = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
    try {
      const config = await registerClient({
        issuer: hp.issuer,
        initialAccessToken: 'demo-initial-access-token',
        clientName: 'Beacon Lending',
        redirectUris: ['http://127.0.0.1:9/callback'],
      })
      const client = createConsentClient(config)
      const { url, pending } = await client.startLink({
        authorizationDetails: [totalsDetail({ lookback_days: 90 })],
      })
      const answer = await consent(hp.issuer, { url } as never, {}, new FormBrowser())
      const l = await client.completeLink(answer.location!, pending)

      const json = await l.affordabilitySummary({ customerIpAddress: '203.0.113.7' })
      expect([...json.accounts].sort()).toEqual(['acc_alice_savings', 'acc_alice_wallet'])
      expect(json.months.length).toBeGreaterThanOrEqual(3)
      const signed = await l.affordabilitySummary({ signed: true })
      expect(signed.summary).toEqual(json)
      expect(signed.claims.grant_id).toBe(l.grantId)
      expect(signed.claims.aud).toBe(config.clientId)
      // Kept as evidence, it verifies again later, offline, with the saved JWKS.
      const jwks = await (await fetch(`${hp.issuer}/jwks`)).json()
      const again = await verifyAffordabilitySummary(signed.jws, {
        issuer: hp.issuer,
        jwks,
        audience: config.clientId,
      })
      expect(again.summary).toEqual(json)
      expect(again.issuedAt.getTime()).toBe(signed.issuedAt.getTime())
      // The grant reads nothing else.
      await expect(l.accounts()).rejects.toBeInstanceOf(OutsideConsentError)
      await expect(l.transactions({ accountId: 'acc_alice_wallet' }).next()).rejects.toBeInstanceOf(
        OutsideConsentError,
      )
    } finally {
      await hp.close()
    }
  })
})
