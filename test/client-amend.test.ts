/**
 * `@consentry/client` changing a grant against the real server over real HTTP: `link.amend()` →
 * the person approves or declines on the real consent page → `link.completeAmend()`; `link.renew()`;
 * and the webhook handler keeping the stored link in step with `grant-amended` events (a change the
 * person made on the dashboard) instead of dropping it.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type ConsentClient,
  type ConsentEvent,
  createConsentClient,
  InvalidRequestError,
  type Link,
  memoryTokenStore,
  type RegisteredClient,
  RequestRejectedError,
  registerClient,
} from '@consentry/client'
import { memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { FormBrowser, hiddenInput } from './helpers/browser.ts'
import { type ConsentChoice, consent } from './helpers/recipient.ts'

const DAY = 86_400_000
const WALLET = 'acc_alice_wallet'
const SAVINGS = 'acc_alice_savings'
const DETAIL = {
  type: 'transaction_history',
  datatypes: ['accounts', 'balances', 'transactions'],
  fields: ['booked_at', 'amount', 'currency', 'category', 'description'],
  period: { lookback_days: 90 },
  purpose: 'credit_assessment',
  expires_in: 7 * 86400,
  max_reads_per_day: 4,
}

let holder: HarborPay
let client: ConsentClient
let config: RegisteredClient
let tokenStore: ReturnType<typeof memoryTokenStore>
let hookServer: Server
const events: ConsentEvent[] = []
const browser = new FormBrowser()

beforeAll(async () => {
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
  })
  let handle: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 })
  hookServer = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const response = await handle(
      new Request(`http://127.0.0.1${req.url}`, {
        method: req.method!,
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks),
      }),
    )
    res.writeHead(response.status).end()
  })
  await new Promise<void>((ok) => hookServer.listen(0, '127.0.0.1', ok))
  config = await registerClient({
    issuer: holder.issuer,
    initialAccessToken: 'demo-initial-access-token',
    clientName: 'Beacon Lending',
    redirectUris: ['http://127.0.0.1:9/callback'],
    webhookUri: `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/events`,
  })
  tokenStore = memoryTokenStore()
  client = createConsentClient({ ...config, tokenStore })
  handle = client.webhookHandler((event) => {
    events.push(event)
  })
})
afterAll(async () => {
  await holder?.close()
  hookServer?.close()
})

async function linkAlice(choice: ConsentChoice = {}): Promise<Link> {
  const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
  const answer = await consent(holder.issuer, { url } as never, choice, browser)
  expect(answer.status).toBe(303)
  return client.completeLink(answer.location!, pending)
}

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error('the condition was not met')
}

describe('link.amend() → completeAmend()', () => {
  let link: Link

  it('merge: the person approves; the same grant, fresh tokens, the new details in the link', async () => {
    link = await linkAlice({ accounts: [WALLET] })
    expect(link.grant.accounts).toEqual([WALLET])
    const { expires_in: _e, max_reads_per_day: _m, ...more } = DETAIL
    const { url, pending } = await link.amend([{ ...more, accounts: [SAVINGS] }])
    expect(pending).toMatchObject({ kind: 'amend', grantId: link.grantId, action: 'merge' })
    const answer = await consent(holder.issuer, { url } as never, {}, browser)
    expect(answer.page).toContain('Adds: Rainy Day Savings')
    const result = await link.completeAmend(answer.location!, pending)
    expect(result.outcome).toBe('approved')
    if (result.outcome !== 'approved') return
    expect(result.grantId).toBe(link.grantId)
    expect(result.authorizationDetails[0]).toMatchObject({ accounts: [WALLET, SAVINGS] })
    expect(result.consentReceipt).toMatch(/^ey/)
    expect(link.grant.accounts).toEqual([WALLET, SAVINGS])
    expect((await link.accounts()).map((a) => a.id).sort()).toEqual([SAVINGS, WALLET])
    expect((await tokenStore.get(link.grantId))?.authorizationDetails[0]).toMatchObject({
      accounts: [WALLET, SAVINGS],
    })
  })

  it('declined: a typed result, and the link exactly as it was', async () => {
    const before = await tokenStore.get(link.grantId)
    const { url, pending } = await link.amend([{ ...DETAIL, period: { lookback_days: 365 } }], {
      action: 'replace',
    })
    const answer = await consent(holder.issuer, { url } as never, { decision: 'deny' }, browser)
    expect(await link.completeAmend(answer.location!, pending)).toEqual({
      outcome: 'declined',
      grantId: link.grantId,
    })
    expect(await tokenStore.get(link.grantId)).toEqual(before)
    expect((await link.accounts()).length).toBe(2)
  })

  it('renew: a replace with a new expires_in, approved by the person, extends the same grant', async () => {
    const { url, pending } = await link.renew({ expiresIn: 60 * 86400 })
    expect(pending.action).toBe('replace')
    const answer = await consent(holder.issuer, { url } as never, {}, browser)
    expect(answer.page).toMatch(/Adds: access until/)
    const result = await link.completeAmend(answer.location!, pending)
    expect(result.outcome).toBe('approved')
    if (result.outcome !== 'approved') return
    expect(Math.abs(result.expiresAt!.getTime() - (Date.now() + 60 * DAY))).toBeLessThan(60_000)
    expect(link.grant.expiresAt?.getTime()).toBe(result.expiresAt!.getTime())
    expect((await link.status()).expiresAt.getTime()).toBe(result.expiresAt!.getTime())
  })

  it('refuses a pending amendment of another grant, bad options, and an ended grant', async () => {
    const other = await linkAlice()
    const { pending } = await other.amend([DETAIL])
    await expect(link.completeAmend('http://127.0.0.1:9/callback?code=x', pending)).rejects.toBeInstanceOf(
      InvalidRequestError,
    )
    await expect(link.amend([DETAIL], { action: 'create' as never })).rejects.toBeInstanceOf(
      InvalidRequestError,
    )
    await expect(link.renew({ expiresIn: 5 })).rejects.toBeInstanceOf(InvalidRequestError)
    // A copy of a link kept after its grant ended cannot amend it: invalid_grant_id.
    const copy = await tokenStore.get(other.grantId)
    await other.revoke()
    // (another process, which never heard of the end, holding a copy of the link)
    const elsewhere = memoryTokenStore()
    await elsewhere.set(other.grantId, copy!)
    const stale = await createConsentClient({ ...config, tokenStore: elsewhere }).link(other.grantId)
    const err = await stale.amend([DETAIL]).catch((e) => e)
    expect(err).toBeInstanceOf(RequestRejectedError)
    expect(err.serverError).toBe('invalid_grant_id')
  })
})

describe('the webhook handler and grant-amended events', () => {
  it('keeps the stored link in step when the person narrows on the dashboard (and does not drop it)', async () => {
    const link = await linkAlice({ accounts: [WALLET, SAVINGS] })
    const form = await browser.request(`${holder.issuer}/consents/${link.grantId}/change`)
    const html = await form.text()
    const done = await browser.request(`${holder.issuer}/consents/${link.grantId}/change`, {
      form: {
        csrf: hiddenInput(html, 'csrf'),
        grant_version: hiddenInput(html, 'grant_version'),
        account: [WALLET],
        field: ['booked_at', 'amount'],
        datatype: 'balances',
      },
    })
    expect(done.status).toBe(303)
    const event = await eventually(() =>
      events.find((e) => e.type === 'grant-amended' && e.grantId === link.grantId),
    )
    expect(event).toMatchObject({ type: 'grant-amended', action: 'narrow', by: 'subject' })
    if (event.type !== 'grant-amended') return
    expect(event.consentReceipt).toMatch(/^ey/)
    const stored = await tokenStore.get(link.grantId)
    expect(stored?.authorizationDetails[0]).toMatchObject({
      accounts: [WALLET],
      fields: ['booked_at', 'amount'],
    })
    expect(stored?.grantExpiresAt).toBe(event.expiresAt.getTime())
    // The reopened link sees it; the holder enforces it.
    const again = await client.link(link.grantId)
    expect(again.grant.accounts).toEqual([WALLET])
    expect((await again.accounts()).map((a) => a.id)).toEqual([WALLET])
  })
})
