import { memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { createDemoData } from '../examples/payment-provider/src/data.ts'
import {
  insecure,
  link,
  managementToken,
  oauth,
  type Recipient,
  registerRecipient,
  resourceGet,
  resourceRequest,
} from './helpers/recipient.ts'

const TODAY = '2026-11-20'
const DAY = 86_400_000
const PRESENT = { 'x-fapi-customer-ip-address': '203.0.113.7' }
const NO_DESCRIPTION = {
  type: 'transaction_history',
  datatypes: ['accounts', 'transactions'],
  accounts: ['acc_alice_wallet', 'acc_alice_savings'],
  fields: ['booked_at', 'amount', 'currency', 'counterparty', 'category'],
  period: { lookback_days: 90 },
  purpose: 'credit_assessment',
  expires_in: 7 * 86400,
  max_reads_per_day: 4,
}

let holder: HarborPay
let r: Recipient
// The server's clock is pinned to the demo's "today" so the rolling 90 days are fixed.
const now = () => Date.parse(`${TODAY}T12:00:00Z`) + (Date.now() - started)
const started = Date.now()

beforeAll(async () => {
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    today: TODAY,
    maintenance: false,
    overrides: { now },
  })
  r = await registerRecipient(holder.issuer)
  // oauth4webapi signs proofs and assertions with its own clock: tell it the server's offset.
  r.client[oauth.clockSkew] = Math.round((now() - Date.now()) / 1000)
})
afterAll(() => holder.close())

const api = (path: string) => `${holder.issuer}/api${path}`

async function consented() {
  // alice ticks only her wallet (of the two asked) and keeps the fields offered (no description).
  const l = await link(holder.issuer, r, [NO_DESCRIPTION], { accounts: ['acc_alice_wallet'] })
  return {
    token: l.tokens.access_token,
    DPoP: l.DPoP,
    grantId: (l.tokens as unknown as { grant_id: string }).grant_id,
    refresh: l.tokens.refresh_token!,
  }
}

describe('the transaction-history API enforces the consent', () => {
  it('serves exactly the consented account, period and fields', async () => {
    const g = await consented()
    const accounts = await resourceGet(g.token, api('/accounts'), g.DPoP)
    expect(accounts.status).toBe(200)
    const list = (await accounts.json()).data
    expect(list.map((a: { id: string }) => a.id)).toEqual(['acc_alice_wallet'])
    expect(list[0].balance).toBeUndefined() // balances were not asked

    const page = await resourceGet(
      g.token,
      api('/accounts/acc_alice_wallet/transactions?from=2020-01-01&to=2030-01-01&limit=500'),
      g.DPoP,
      PRESENT,
    )
    expect(page.status).toBe(200)
    const body = await page.json()
    const from = new Date(Date.parse(`${TODAY}T00:00:00Z`) - 89 * DAY).toISOString().slice(0, 10)
    expect(body.period).toEqual({ from, to: TODAY })
    expect(body.data.length).toBeGreaterThan(20)
    for (const t of body.data) {
      expect(t.account_id).toBe('acc_alice_wallet')
      expect(t.booked_at.slice(0, 10) >= from && t.booked_at.slice(0, 10) <= TODAY).toBe(true)
      expect(Object.keys(t).sort()).toEqual([
        'account_id',
        'amount',
        'booked_at',
        'category',
        'counterparty',
        'currency',
        'id',
      ])
    }
  })

  it('refuses other accounts: the unticked one and another person’s', async () => {
    const g = await consented()
    for (const id of ['acc_alice_savings', 'acc_bob_wallet', 'nope']) {
      const res = await resourceGet(g.token, api(`/accounts/${id}/transactions`), g.DPoP, PRESENT)
      expect(res.status).toBe(403)
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      expect((await res.json()).code).toBe('outside_consent')
    }
  })

  it('refuses a period wholly outside the consent and clamps one that overlaps', async () => {
    const g = await consented()
    const outside = await resourceGet(
      g.token,
      api('/accounts/acc_alice_wallet/transactions?from=2025-01-01&to=2025-02-01'),
      g.DPoP,
      PRESENT,
    )
    expect(outside.status).toBe(403)
    const overlap = await resourceGet(
      g.token,
      api(`/accounts/acc_alice_wallet/transactions?from=2024-01-01&to=${TODAY}&limit=1`),
      g.DPoP,
      PRESENT,
    )
    expect((await overlap.json()).period.from).not.toBe('2024-01-01')
  })

  it('pages through the whole period exactly once, newest first, no duplicates or gaps', async () => {
    const g = await consented()
    const seen: Array<{ id: string; booked_at: string }> = []
    let url = api('/accounts/acc_alice_wallet/transactions?limit=7')
    let pages = 0
    for (;;) {
      const res = await resourceGet(g.token, url, g.DPoP)
      expect(res.status).toBe(200)
      const body = await res.json()
      expect(body.data.length).toBeLessThanOrEqual(7)
      seen.push(...body.data)
      pages++
      if (!body.next_cursor) break
      url = api(
        `/accounts/acc_alice_wallet/transactions?limit=7&cursor=${encodeURIComponent(body.next_cursor)}`,
      )
    }
    expect(pages).toBeGreaterThan(3)
    // Ground truth straight from the holder's data, for the same 90 days.
    const from = new Date(Date.parse(`${TODAY}T00:00:00Z`) - 89 * DAY).toISOString().slice(0, 10)
    const truth = await createDemoData({ today: TODAY }).dataSource.listTransactions({
      subject: 'alice',
      accountId: 'acc_alice_wallet',
      from,
      to: TODAY,
      limit: 100_000,
    })
    expect(seen.map((t) => t.id)).toEqual(truth.map((t) => t.id))
    expect(new Set(seen.map((t) => t.id)).size).toBe(seen.length)
    const events = await holder.server.audit.list({ grantId: g.grantId, types: ['data.read'] })
    expect(events).toHaveLength(pages) // one unattended read counted, every page audited
    expect(events.reduce((n, e) => n + (e.data.records as number), 0)).toBe(seen.length)
    expect(JSON.stringify(events)).not.toContain(truth[0]!.description) // counts and ranges, never contents
  })

  it('rejects a forged or altered cursor with 400', async () => {
    const g = await consented()
    const first = await (
      await resourceGet(g.token, api('/accounts/acc_alice_wallet/transactions?limit=2'), g.DPoP, PRESENT)
    ).json()
    const cursor: string = first.next_cursor
    const [body, mac] = cursor.split('.')
    const altered = `${body!.slice(0, -2)}${body!.slice(-2) === 'AA' ? 'AB' : 'AA'}.${mac}`
    for (const bad of [altered, `${body}.${'x'.repeat(mac!.length)}`, 'garbage', `${cursor}.x`]) {
      const res = await resourceGet(
        g.token,
        api(`/accounts/acc_alice_wallet/transactions?cursor=${encodeURIComponent(bad)}`),
        g.DPoP,
        PRESENT,
      )
      expect(res.status).toBe(400)
      expect((await res.json()).code).toBe('invalid_cursor')
    }
  })

  it('answers the fifth unattended read of the day with 429 and Retry-After', async () => {
    const g = await consented()
    const read = () => resourceGet(g.token, api('/accounts/acc_alice_wallet/transactions?limit=1'), g.DPoP)
    for (let i = 0; i < 4; i++) expect((await read()).status).toBe(200)
    const fifth = await read()
    expect(fifth.status).toBe(429)
    const retry = Number(fifth.headers.get('retry-after'))
    expect(retry).toBeGreaterThan(86_000)
    expect(retry).toBeLessThanOrEqual(86_400)
    expect((await fifth.json()).code).toBe('read_limit_exceeded')
    // The person being present is not an unattended read.
    expect(
      (await resourceGet(g.token, api('/accounts/acc_alice_wallet/transactions?limit=1'), g.DPoP, PRESENT))
        .status,
    ).toBe(200)
  })

  it('stops a revoked grant on the very next request, while the access token is still unexpired', async () => {
    const g = await consented()
    expect((await resourceGet(g.token, api('/accounts'), g.DPoP)).status).toBe(200)
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(r.as, r.client, r.auth, g.refresh, insecure),
    )
    const after = await resourceGet(g.token, api('/accounts'), g.DPoP)
    expect(after.status).toBe(401)
    expect(after.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
  })

  it('stops a grant deleted through grant management on the very next request', async () => {
    const g = await consented()
    const keys = await oauth.generateKeyPair('ES256')
    const DPoP = oauth.DPoP(r.client, keys)
    const mgmt = await managementToken(r, DPoP, 'grant_management_revoke')
    const del = await resourceRequest(
      'DELETE',
      mgmt.access_token,
      `${holder.issuer}/grants/${g.grantId}`,
      DPoP,
    )
    expect(del.status).toBe(204)
    const after = await resourceGet(g.token, api('/accounts/acc_alice_wallet/transactions'), g.DPoP, PRESENT)
    expect(after.status).toBe(401)
  })
})
