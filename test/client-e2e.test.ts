/**
 * The real `@consentry/client` against the real server (Harbor Pay) over real HTTP: registration,
 * PAR + login + consent on the real forms, code exchange, paged reads checked against the holder's
 * own data, refresh after access-token expiry, grant status, revocation by the recipient and by the
 * person, and the signed "grant ended" event pushed to a real webhook endpoint. Errors as a user meets
 * them: the server's own words in the message, a refused connection naming URL and cause, and one
 * revocation always GrantRevokedError — before and after its event is delivered.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type ConsentClient,
  createConsentClient,
  type GrantEndedEvent,
  GrantRevokedError,
  InvalidRequestError,
  IssuerMismatchError,
  type Link,
  LinkNotFoundError,
  type LinkState,
  memoryTokenStore,
  NetworkError,
  type RegisteredClient,
  registerClient,
  type TokenStore,
} from '@consentry/client'
import { memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { createDemoData } from '../examples/payment-provider/src/data.ts'
import { FormBrowser, hiddenInput } from './helpers/browser.ts'
import { type ConsentChoice, consent } from './helpers/recipient.ts'

const TODAY = '2026-11-20'
const DAY = 86_400_000
const PERSON_IP = '203.0.113.7'
const DETAIL = {
  type: 'transaction_history',
  datatypes: ['accounts', 'balances', 'transactions'],
  fields: ['booked_at', 'amount', 'currency', 'category', 'description'],
  period: { lookback_days: 90 },
  purpose: 'credit_assessment',
  expires_in: 7 * 86400,
  max_reads_per_day: 4,
}
const ACCESS_TOKEN_LIFETIME_S = 300

/**
 * One clock for everyone in this process: the holder (`overrides.now`), the client (`clock`) and the
 * JWT libraries underneath both read `Date`, which is pinned to the demo's "today" and moved forward
 * by the tests. (The client's `clock` only drives its own expiry decisions; its DPoP proofs and client
 * assertions are dated by the real clock, so the server's clock cannot be shifted on its own.)
 */
const now = () => Date.now()

/** A token store that counts writes, to see refreshes happen. */
function recordingStore(): TokenStore & { writes: LinkState[] } {
  const inner = memoryTokenStore()
  const writes: LinkState[] = []
  return {
    writes,
    get: (id) => inner.get(id),
    set: (id, state) => {
      writes.push(structuredClone(state))
      return inner.set(id, state)
    },
    delete: (id) => inner.delete(id),
  }
}

let holder: HarborPay
let config: RegisteredClient
let store: ReturnType<typeof recordingStore>
let client: ConsentClient
// A second registration with a webhook_uri: a real local HTTP server running the client's handler.
let hookConfig: RegisteredClient
let hookClient: ConsentClient
let hookServer: Server
const events: GrantEndedEvent[] = []
const hookResponses: number[] = []
/** While set, the webhook endpoint holds deliveries (the request stays open) until it resolves. */
let holdDeliveries: Promise<void> | undefined

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true })
  vi.setSystemTime(new Date(`${TODAY}T12:00:00Z`))
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    today: TODAY,
    maintenance: false,
    overrides: { now, lifetimes: { accessToken: ACCESS_TOKEN_LIFETIME_S } },
  })
  config = await registerClient({
    issuer: holder.issuer,
    initialAccessToken: 'demo-initial-access-token',
    clientName: 'Beacon Lending',
    redirectUris: ['http://127.0.0.1:9/callback'],
  })
  store = recordingStore()
  client = createConsentClient({ ...config, tokenStore: store, clock: now })

  let handle: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 })
  hookServer = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method!,
      headers: req.headers as Record<string, string>,
      body: Buffer.concat(chunks),
    })
    await holdDeliveries
    const response = await handle(request)
    hookResponses.push(response.status)
    res.writeHead(response.status).end()
  })
  await new Promise<void>((ok) => hookServer.listen(0, '127.0.0.1', ok))
  const hookPort = (hookServer.address() as AddressInfo).port
  hookConfig = await registerClient({
    issuer: holder.issuer,
    initialAccessToken: 'demo-initial-access-token',
    clientName: 'Beacon Lending (events)',
    redirectUris: ['http://127.0.0.1:9/callback'],
    webhookUri: `http://127.0.0.1:${hookPort}/webhooks/consentry`,
  })
  hookClient = createConsentClient({ ...hookConfig, clock: now })
  handle = hookClient.webhookHandler((event) => {
    if (event.type === 'grant-ended') events.push(event)
  })
})

afterAll(async () => {
  await holder?.close()
  hookServer?.close()
  vi.useRealTimers()
})

/** startLink → alice signs in and consents on the real pages → completeLink. */
async function linkAlice(
  c: ConsentClient,
  choice: ConsentChoice = {},
  browser = new FormBrowser(),
): Promise<Link> {
  const { url, pending } = await c.startLink({ authorizationDetails: [DETAIL] })
  const answer = await consent(holder.issuer, { url } as never, choice, browser)
  expect(answer.status).toBe(303)
  return c.completeLink(answer.location!, pending)
}

/** alice ends the grant on Harbor Pay's "Connected apps" page (real form, real CSRF token). */
async function personRevokes(browser: FormBrowser, grantId: string) {
  const confirm = await browser.request(`${holder.issuer}/consents/${grantId}/revoke`)
  expect(confirm.status).toBe(200)
  const page = await confirm.text()
  const done = await browser.request(`${holder.issuer}/consents/${grantId}/revoke`, {
    form: { csrf: hiddenInput(page, 'csrf') },
  })
  expect(done.status).toBe(303)
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** Wait for a condition driven by another party (the holder's webhook push), bounded by attempts. */
async function eventually<T>(probe: () => T | undefined, attempts = 200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = probe()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error('the condition was not met')
}

const fromDay = (lookback: number) =>
  new Date(Date.parse(`${TODAY}T00:00:00Z`) - (lookback - 1) * DAY).toISOString().slice(0, 10)

describe('@consentry/client against the real Consentry server', () => {
  it('registers, links through the real login and consent pages, and reports what was granted', async () => {
    expect(config.clientId).toMatch(/^\S+$/)
    expect(config.privateKey.d).toBeTypeOf('string') // the private key stays with the recipient
    // alice shares only her wallet and unticks "description".
    const link = await linkAlice(client, {
      accounts: ['acc_alice_wallet'],
      fields: ['booked_at', 'amount', 'currency', 'category'],
    })
    expect(link.grantId).toMatch(/\S/)
    expect(link.grant.accounts).toEqual(['acc_alice_wallet'])
    expect([...link.grant.fields].sort()).toEqual(['amount', 'booked_at', 'category', 'currency'])
    expect(link.grant.period).toEqual({ lookback_days: 90 })
    expect(link.grant.datatypes).toEqual(expect.arrayContaining(['accounts', 'balances', 'transactions']))
    expect(link.grant.purpose).toBe('credit_assessment')
    expect(link.grant.maxReadsPerDay).toBe(4)
    expect(Math.abs(link.grant.expiresAt!.getTime() - (now() + 7 * DAY))).toBeLessThan(60_000)
    expect((await store.get(link.grantId))?.refreshToken).toBeTypeOf('string')

    const accounts = await link.accounts({ customerIpAddress: PERSON_IP })
    expect(accounts.map((a) => a.id)).toEqual(['acc_alice_wallet'])
    expect(accounts[0]!.balance?.currency).toBe('EUR')
  })

  it('iterates every page of the consented period; the ids are exactly the holder’s', async () => {
    const link = await linkAlice(client, { accounts: ['acc_alice_wallet', 'acc_alice_savings'] })
    const truth = createDemoData({ today: TODAY }).dataSource
    for (const accountId of ['acc_alice_wallet', 'acc_alice_savings']) {
      const pages = await collect(
        link.transactionPages({ accountId, pageSize: 7, customerIpAddress: PERSON_IP }),
      )
      const seen = pages.flatMap((p) => p.data)
      const expected = await truth.listTransactions({
        subject: 'alice',
        accountId,
        from: fromDay(90),
        to: TODAY,
        limit: 100_000,
      })
      expect(expected.length).toBeGreaterThan(0)
      expect(pages.length).toBe(Math.ceil(expected.length / 7))
      expect(pages[0]!.period).toEqual({ from: fromDay(90), to: TODAY })
      expect(seen.map((t) => t.id)).toEqual(expected.map((t) => t.id))
      for (const t of seen) {
        expect(t.account_id).toBe(accountId)
        expect(Object.keys(t).sort()).toEqual([
          'account_id',
          'amount',
          'booked_at',
          'category',
          'currency',
          'description',
          'id',
        ])
      }
    }
    // The flat iterator gives the same.
    const flat = await collect(
      link.transactions({ accountId: 'acc_alice_wallet', pageSize: 50, customerIpAddress: PERSON_IP }),
    )
    const expected = await truth.listTransactions({
      subject: 'alice',
      accountId: 'acc_alice_wallet',
      from: fromDay(90),
      to: TODAY,
      limit: 100_000,
    })
    expect(flat.map((t) => t.id)).toEqual(expected.map((t) => t.id))
  })

  it('refreshes after the access token expires (rotating the refresh token) and keeps reading', async () => {
    const link = await linkAlice(client)
    const before = (await store.get(link.grantId))!
    expect((await link.accounts({ customerIpAddress: PERSON_IP })).length).toBe(2)
    expect(store.writes.filter((w) => w.grantId === link.grantId)).toHaveLength(1) // only the link itself

    vi.setSystemTime(now() + (ACCESS_TOKEN_LIFETIME_S + 5) * 1000) // holder and client alike

    const accounts = await link.accounts({ customerIpAddress: PERSON_IP })
    expect(accounts.map((a) => a.id).sort()).toEqual(['acc_alice_savings', 'acc_alice_wallet'])
    const after = (await store.get(link.grantId))!
    expect(store.writes.filter((w) => w.grantId === link.grantId)).toHaveLength(2)
    expect(after.accessToken).not.toBe(before.accessToken)
    expect(after.refreshToken).not.toBe(before.refreshToken)
    expect(after.accessTokenExpiresAt).toBeGreaterThan(now())
    const refreshed = await holder.server.audit.list({ grantId: link.grantId })
    expect(refreshed.map((e) => e.type)).toContain('token.refreshed')
    // Reads across pages still work on the new token.
    const txs = await collect(
      link.transactions({ accountId: 'acc_alice_wallet', pageSize: 100, customerIpAddress: PERSON_IP }),
    )
    expect(txs.length).toBeGreaterThan(100)
  })

  it('status() says active; revoke() ends the grant, and another worker’s Link of it gets GrantRevokedError', async () => {
    const link = await linkAlice(client)
    const status = await link.status()
    expect(status.status).toBe('active')
    expect(status.clientId).toBe(config.clientId)
    expect(status.grantId).toBe(link.grantId)
    expect(status.expiresAt.getTime()).toBeGreaterThan(now() + 6 * DAY)

    // Re-opened before revoking: one in this client, one in a second worker with its own copy of the state.
    const sameClient = await client.link(link.grantId)
    const workerStore = memoryTokenStore()
    workerStore.set(link.grantId, (await store.get(link.grantId))!)
    const workerClient = createConsentClient({ ...config, tokenStore: workerStore, clock: now })
    const other = await workerClient.link(link.grantId)

    await link.revoke()
    expect(await store.get(link.grantId)).toBeUndefined()
    const grant = await holder.server.store.getGrant(link.grantId)
    expect(grant?.status).toBe('revoked')

    await expect(other.accounts()).rejects.toBeInstanceOf(GrantRevokedError)
    expect(workerStore.get(link.grantId)).toBeUndefined() // the worker forgot its tokens too
    await expect(workerClient.link(link.grantId)).rejects.toBeInstanceOf(GrantRevokedError)
    // In the client that revoked it, the tokens are gone but the revocation is remembered.
    const err = await sameClient.accounts().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GrantRevokedError)
    expect(err).toMatchObject({ grantId: link.grantId, reason: 'revoked_by_client' })
    await expect(client.link(link.grantId)).rejects.toBeInstanceOf(GrantRevokedError)
  })

  it('when the person revokes at Harbor Pay, the next read raises GrantRevokedError', async () => {
    const browser = new FormBrowser()
    const link = await linkAlice(client, {}, browser)
    expect((await link.accounts({ customerIpAddress: PERSON_IP })).length).toBe(2)
    await personRevokes(browser, link.grantId)
    const err = await link.accounts({ customerIpAddress: PERSON_IP }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GrantRevokedError)
    expect((err as GrantRevokedError).code).toBe('grant_revoked')
    expect((err as GrantRevokedError).grantId).toBe(link.grantId)
    expect(JSON.stringify({ ...(err as object), message: (err as Error).message })).not.toMatch(/eyJ/) // no token material
    expect(await store.get(link.grantId)).toBeUndefined()
  })

  it('receives the signed grant-ended event on its webhook when the person revokes', async () => {
    const browser = new FormBrowser()
    const link = await linkAlice(hookClient, {}, browser)
    await link.accounts({ customerIpAddress: PERSON_IP })
    await personRevokes(browser, link.grantId)
    const event = await eventually(() => events.find((e) => e.grantId === link.grantId))
    expect(event.status).toBe('revoked')
    expect(event.reason).toBe('revoked_by_subject')
    expect(event.jti).toMatch(/\S/)
    expect(hookResponses).toContain(202)
    // The handler dropped the link's tokens; the grant is still known as revoked, not missing.
    const reopened = await hookClient.link(link.grantId).catch((e: unknown) => e)
    expect(reopened).toBeInstanceOf(GrantRevokedError)
    expect(reopened).toMatchObject({ grantId: link.grantId, reason: 'revoked_by_subject' })
    const read = await link.accounts({ customerIpAddress: PERSON_IP }).catch((e: unknown) => e)
    expect(read).toBeInstanceOf(GrantRevokedError)
    expect(read).not.toBeInstanceOf(LinkNotFoundError)
    // The holder audits the delivery once our 202 reaches it, which is after onEvent ran: wait for it.
    let delivered = await holder.server.audit.list({ grantId: link.grantId, types: ['webhook.delivered'] })
    for (let i = 0; i < 200 && delivered.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25))
      delivered = await holder.server.audit.list({ grantId: link.grantId, types: ['webhook.delivered'] })
    }
    expect(delivered).toHaveLength(1)
  })

  it('one revocation is GrantRevokedError before its event is delivered, and still after', async () => {
    const browser = new FormBrowser()
    const link = await linkAlice(hookClient, {}, browser)
    expect(await link.accounts({ customerIpAddress: PERSON_IP })).toHaveLength(2)
    let release!: () => void
    holdDeliveries = new Promise<void>((ok) => {
      release = ok
    })
    try {
      await personRevokes(browser, link.grantId)
      // Before: the event is held at the webhook; the read learns of the revocation from the holder.
      expect(events.some((e) => e.grantId === link.grantId)).toBe(false)
      const before = await link.accounts({ customerIpAddress: PERSON_IP }).catch((e: unknown) => e)
      expect(before).toBeInstanceOf(GrantRevokedError)
      expect(before).toMatchObject({
        code: 'grant_revoked',
        grantId: link.grantId,
        reason: 'revoked_by_subject',
      })
      // The tokens were dropped; the next read and re-opening still name the revocation.
      await expect(link.accounts({ customerIpAddress: PERSON_IP })).rejects.toBeInstanceOf(GrantRevokedError)
      await expect(hookClient.link(link.grantId)).rejects.toBeInstanceOf(GrantRevokedError)
    } finally {
      holdDeliveries = undefined
      release()
    }
    // After: the event arrives (dropping nothing more) and every call still says GrantRevokedError.
    const event = await eventually(() => events.find((e) => e.grantId === link.grantId), 1200)
    expect(event.status).toBe('revoked')
    for (const call of [
      () => link.accounts({ customerIpAddress: PERSON_IP }),
      () => hookClient.link(link.grantId),
      async () => {
        for await (const _ of link.transactions({ accountId: 'acc_alice_wallet' })) break
      },
    ]) {
      const err = await call().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(GrantRevokedError)
      expect(err).not.toBeInstanceOf(LinkNotFoundError)
      expect((err as Error).message).toBe(
        `the grant ${JSON.stringify(link.grantId)} has been revoked (revoked_by_subject)`,
      )
    }
  })

  it('a real rejection carries the holder’s description: PAR with an unregistered redirect_uri', async () => {
    const stray = createConsentClient({
      ...config,
      redirectUri: 'http://127.0.0.1:9/not-registered',
      clock: now,
    })
    const err = await stray.startLink({ authorizationDetails: [DETAIL] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidRequestError)
    expect((err as Error).message).toContain(
      'invalid_request: redirect_uri is not registered for this client',
    )
    expect((err as Error).message).toMatch(/\(HTTP 400 from http:\/\/127\.0\.0\.1:\d+\/\S+\)$/)
    expect(err).toMatchObject({ status: 400, serverError: 'invalid_request' })
    expect((err as Error).message).not.toMatch(/eyJ/) // the client assertion is never echoed
  })

  it('a refused connection names the URL and the cause; a wrong issuer names both issuers', async () => {
    // A port that was just listening on loopback and is now closed: a real ECONNREFUSED.
    const closed = createServer()
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((ok) => closed.close(() => ok()))
    const offline = createConsentClient({ ...config, issuer: `http://127.0.0.1:${port}`, clock: now })
    const err = await offline.startLink({ authorizationDetails: [DETAIL] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NetworkError)
    expect((err as Error).message).toBe(
      `could not reach http://127.0.0.1:${port}/.well-known/oauth-authorization-server: ECONNREFUSED`,
    )
    expect((err as Error).cause).toBeInstanceOf(Error)

    const slash = createConsentClient({ ...config, issuer: `${holder.issuer}/`, clock: now })
    const mismatch = await slash.startLink({ authorizationDetails: [DETAIL] }).catch((e: unknown) => e)
    expect(mismatch).toBeInstanceOf(IssuerMismatchError)
    expect((mismatch as Error).message).toContain(JSON.stringify(`${holder.issuer}/`))
    expect((mismatch as Error).message).toContain(JSON.stringify(holder.issuer))
  })

  it('rejects a forged event on the webhook with 400', async () => {
    const port = (hookServer.address() as AddressInfo).port
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/consentry`, {
      method: 'POST',
      headers: { 'content-type': 'application/secevent+jwt' },
      body: 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.',
    })
    expect(res.status).toBe(400)
  })
})
