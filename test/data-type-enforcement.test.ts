/**
 * The generic enforcement suite: every check the resource path makes for *any* data type — scope
 * (accounts, stores), fields, period, reads per day, cursors, revocation, and a grant of one type
 * never reading another's routes — run against each data type in `FIXTURES`. A new data type gets
 * the whole suite by adding one fixture.
 */
import { createConsentClient, registerClient } from '@consentry/client'
import { memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { type BazaarMarket, startBazaarMarket } from '../examples/marketplace/src/app.ts'
import { createMarketplaceData } from '../examples/marketplace/src/data.ts'
import { salesDataType } from '../examples/marketplace/src/sales.ts'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { BUYER, shopOrdersDataType, shopOrdersType } from './helpers/orders-type.ts'
import {
  consent,
  insecure,
  link,
  oauth,
  type Recipient,
  registerRecipient,
  resourceGet,
} from './helpers/recipient.ts'

const TODAY = '2026-11-20'
const DAY = 86_400_000
const started = Date.now()
const now = () => Date.parse(`${TODAY}T12:00:00Z`) + (Date.now() - started)
const daysAgo = (n: number) => new Date(Date.parse(`${TODAY}T00:00:00Z`) - n * DAY).toISOString().slice(0, 10)

interface Fixture {
  type: string
  /** Who consents (signs in on the holder's page). */
  username: string
  /** The holder serving this type beside another (for the cross-type check). */
  holder: () => Holder
  /** The list route's path for a scope id. */
  path: (scopeId: string) => string
  scopeParam: string
  scopeMember: string
  /** Consented; owned but not consented; another person's. */
  consented: string
  ownedOther: string
  foreign: string
  /** Asked and consented fields; fields the records have that were not consented; the date member. */
  fields: string[]
  unconsented: string[]
  dateMember: string
  /** Text present in the holder's records that must never leave. */
  secrets: string[]
  /** A request detail (scope and fields filled in by the suite). */
  detail: Record<string, unknown>
}

interface Holder {
  issuer: string
  r: Recipient
}

const FIXTURES: Fixture[] = [
  {
    type: 'transaction_history',
    username: 'alice',
    holder: () => harbor,
    path: (id) => `/accounts/${id}/transactions`,
    scopeParam: 'account_id',
    scopeMember: 'accounts',
    consented: 'acc_alice_wallet',
    ownedOther: 'acc_alice_savings',
    foreign: 'acc_bob_wallet',
    fields: ['booked_at', 'amount'],
    unconsented: ['description', 'counterparty', 'balance_after'],
    dateMember: 'booked_at',
    secrets: [],
    detail: { type: 'transaction_history', datatypes: ['accounts', 'transactions'] },
  },
  {
    type: 'shop_orders',
    username: 'alice',
    holder: () => harbor,
    path: (id) => `/shops/${id}/orders`,
    scopeParam: 'store_id',
    scopeMember: 'stores',
    consented: 'shop_a1',
    ownedOther: 'shop_a2',
    foreign: 'shop_b1',
    fields: ['ordered_at', 'amount'],
    unconsented: ['status', 'currency', ...Object.keys(BUYER)],
    dateMember: 'ordered_at',
    secrets: Object.values(BUYER),
    detail: { type: 'shop_orders', datatypes: ['orders'] },
  },
  {
    type: 'marketplace_sales',
    username: 'sam',
    holder: () => bazaar,
    path: (id) => `/stores/${id}/orders`,
    scopeParam: 'store_id',
    scopeMember: 'stores',
    consented: 'st_sam_eu',
    ownedOther: 'st_sam_uk',
    foreign: 'st_kim_us',
    fields: ['ordered_at', 'amount'],
    unconsented: ['items', 'status', 'ship_to_country', 'currency'],
    dateMember: 'ordered_at',
    get secrets() {
      return bazaarBuyers.flatMap((b) => [b.name, b.email, b.street])
    },
    detail: { type: 'marketplace_sales', datatypes: ['orders'], purpose: 'payment_processing' },
  },
]

let harborPay: HarborPay
let bazaarMarket: BazaarMarket
let harbor: Holder
let bazaar: Holder
let bazaarBuyers: ReadonlyArray<{ name: string; email: string; street: string }> = []

async function recipientOf(issuer: string) {
  const r = await registerRecipient(issuer)
  // oauth4webapi dates proofs and assertions with its own clock: tell it the server's offset.
  r.client[oauth.clockSkew] = Math.round((now() - Date.now()) / 1000)
  return r
}

beforeAll(async () => {
  harborPay = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    today: TODAY,
    maintenance: false,
    overrides: { now, dataTypes: [shopOrdersDataType(TODAY)] },
  })
  harbor = { issuer: harborPay.issuer, r: await recipientOf(harborPay.issuer) }
  // Bazaar Market serves marketplace_sales; shop_orders beside it gives the cross-type check a route.
  const data = () => createMarketplaceData({ now: now() })
  bazaarBuyers = data().buyers
  bazaarMarket = await startBazaarMarket({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
    overrides: { now, dataTypes: [salesDataType(data), shopOrdersDataType(TODAY)] },
  })
  bazaar = { issuer: bazaarMarket.issuer, r: await recipientOf(bazaarMarket.issuer) }
})
afterAll(async () => {
  await harborPay?.close()
  await bazaarMarket?.close()
})

/** The holder whose API the current fixture reads. */
let current: Holder
const api = (path: string) => `${current.issuer}/api${path}`

async function grantFor(f: Fixture, over: Record<string, unknown> = {}) {
  const detail = {
    ...f.detail,
    [f.scopeMember]: [f.consented, f.ownedOther],
    fields: f.fields,
    period: { lookback_days: 30 },
    purpose: 'credit_assessment',
    expires_in: 86400,
    max_reads_per_day: 2,
    ...f.detail,
    ...over,
  }
  // The person keeps only the first scope item.
  const h = f.holder()
  current = h
  const l = await link(h.issuer, h.r, [detail], {
    accounts: [f.consented],
    username: f.username,
    password: f.username,
  })
  return { token: l.tokens.access_token, DPoP: l.DPoP, refresh: l.tokens.refresh_token! }
}

it('lists every data type’s routes in the RFC 9728 metadata as consentry_routes', async () => {
  const meta = await (await fetch(`${harborPay.issuer}/.well-known/oauth-protected-resource/api`)).json()
  expect(meta.consentry_routes).toEqual(
    expect.arrayContaining([
      { type: 'transaction_history', datatype: 'accounts', method: 'GET', path: '/accounts' },
      {
        type: 'transaction_history',
        datatype: 'transactions',
        method: 'GET',
        path: '/accounts/{account_id}/transactions',
      },
      { type: 'shop_orders', datatype: 'orders', method: 'GET', path: '/shops/{store_id}/orders' },
    ]),
  )
  expect(meta.authorization_details_types_supported).toEqual(
    expect.arrayContaining(['transaction_history', 'shop_orders']),
  )
})

describe.each(FIXTURES)('generic enforcement: $type', (f) => {
  it('serves the consented scope item only: another of the person’s, or someone else’s, is 403', async () => {
    const g = await grantFor(f)
    expect((await resourceGet(g.token, api(f.path(f.consented)), g.DPoP)).status).toBe(200)
    for (const id of [f.ownedOther, f.foreign]) {
      const res = await resourceGet(g.token, api(f.path(id)), g.DPoP)
      expect(res.status).toBe(403)
      expect((await res.json()).code).toBe('outside_consent')
    }
  })

  it('projects every record to id, its scope and the consented fields; nothing else leaves', async () => {
    const g = await grantFor(f, { max_reads_per_day: 100 })
    const res = await resourceGet(g.token, api(`${f.path(f.consented)}?limit=500`), g.DPoP)
    const text = await res.text()
    const body = JSON.parse(text)
    expect(body.data.length).toBeGreaterThan(10)
    for (const rec of body.data) {
      expect(Object.keys(rec).sort()).toEqual(['id', f.scopeParam, ...f.fields].sort())
      expect(rec[f.scopeParam]).toBe(f.consented)
    }
    for (const field of f.unconsented) expect(text).not.toContain(`"${field}"`)
    for (const secret of f.secrets) expect(text).not.toContain(secret)
  })

  it('clamps the period to the consent on every page', async () => {
    const g = await grantFor(f, { max_reads_per_day: 100 })
    const res = await resourceGet(g.token, api(`${f.path(f.consented)}?from=2000-01-01&limit=500`), g.DPoP)
    const body = await res.json()
    expect(body.period).toEqual({ from: daysAgo(29), to: TODAY })
    for (const rec of body.data) expect((rec[f.dateMember] as string).slice(0, 10) >= daysAgo(29)).toBe(true)
    const outside = await resourceGet(g.token, api(`${f.path(f.consented)}?to=${daysAgo(100)}`), g.DPoP)
    expect(outside.status).toBe(403)
  })

  it('counts a listing once (its cursor pages are free) and refuses the read past the consented limit', async () => {
    const g = await grantFor(f)
    const first = await (await resourceGet(g.token, api(`${f.path(f.consented)}?limit=5`), g.DPoP)).json()
    expect(first.next_cursor).toBeTruthy()
    const next = await resourceGet(
      g.token,
      api(`${f.path(f.consented)}?limit=5&cursor=${encodeURIComponent(first.next_cursor)}`),
      g.DPoP,
    )
    expect(next.status).toBe(200)
    expect((await resourceGet(g.token, api(f.path(f.consented)), g.DPoP)).status).toBe(200)
    const refused = await resourceGet(g.token, api(f.path(f.consented)), g.DPoP)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await refused.json()).code).toBe('read_limit_exceeded')
  })

  it('binds a cursor to its grant and refuses an altered one', async () => {
    const a = await grantFor(f, { max_reads_per_day: 100 })
    const b = await grantFor(f, { max_reads_per_day: 100 })
    const page = await (await resourceGet(a.token, api(`${f.path(f.consented)}?limit=3`), a.DPoP)).json()
    const cursor = page.next_cursor as string
    const other = await resourceGet(
      b.token,
      api(`${f.path(f.consented)}?cursor=${encodeURIComponent(cursor)}`),
      b.DPoP,
    )
    expect(other.status).toBe(400)
    expect((await other.json()).code).toBe('invalid_cursor')
    // The MAC's second-to-last character (all six bits significant), changed whatever it was.
    const altered = `${cursor.slice(0, -2)}${cursor.at(-2) === 'A' ? 'B' : 'A'}${cursor.slice(-1)}`
    const bad = await resourceGet(
      a.token,
      api(`${f.path(f.consented)}?cursor=${encodeURIComponent(altered)}`),
      a.DPoP,
    )
    expect(bad.status).toBe(400)
  })

  it('stops on the very next request after a revocation', async () => {
    const g = await grantFor(f, { max_reads_per_day: 100 })
    expect((await resourceGet(g.token, api(f.path(f.consented)), g.DPoP)).status).toBe(200)
    const { r } = f.holder()
    const res = await oauth.revocationRequest(r.as, r.client, r.auth, g.refresh, insecure)
    await oauth.processRevocationResponse(res)
    const after = await resourceGet(g.token, api(f.path(f.consented)), g.DPoP)
    expect(after.status).toBe(401)
    expect(after.headers.get('www-authenticate')).toContain('invalid_token')
  })

  it('never lets a grant of this type read another type’s routes', async () => {
    const g = await grantFor(f, { max_reads_per_day: 100 })
    // Another type served by the same holder (and, on Harbor Pay, transaction history's account list).
    const other = FIXTURES.find(
      (o) => o.type === (f.type === 'shop_orders' ? 'transaction_history' : 'shop_orders'),
    )!
    const accounts = f.holder() === harbor && f.type !== 'transaction_history' ? ['/accounts'] : []
    for (const path of [other.path(other.consented), ...accounts]) {
      const res = await resourceGet(g.token, api(path), g.DPoP)
      expect(res.status).toBe(403)
      expect((await res.json()).code).toBe('outside_consent')
    }
  })
})

describe('@consentry/client reads any data type, typed from its contract', () => {
  it('pages a holder-defined type with link.records() and link.pages(), records checked by the schema', async () => {
    // On the real clock: the client dates its assertions and proofs with it.
    const today = new Date().toISOString().slice(0, 10)
    const holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      today,
      maintenance: false,
      overrides: { dataTypes: [shopOrdersDataType(today)] },
    })
    onTestFinished(() => holder.close())
    const config = await registerClient({
      issuer: holder.issuer,
      initialAccessToken: 'demo-initial-access-token',
      clientName: 'Typed Reader',
      redirectUris: ['http://127.0.0.1:9/callback'],
    })
    const client = createConsentClient({ ...config, detailTypes: [shopOrdersType] })
    const { url, pending } = await client.startLink({
      authorizationDetails: [
        {
          type: 'shop_orders',
          datatypes: ['orders'],
          fields: ['ordered_at', 'amount'],
          period: { lookback_days: 10 },
          purpose: 'credit_assessment',
          max_reads_per_day: 10,
        },
      ],
    })
    const answer = await consent(holder.issuer, { url } as never, { accounts: ['shop_a1'] })
    const l = await client.completeLink(answer.location!, pending)
    const orders = []
    for await (const order of l.records(shopOrdersType, 'orders', { store_id: 'shop_a1' }, { pageSize: 7 })) {
      // Typed: `amount` is `string | undefined`, `store_id` a string.
      const amount: string | undefined = order.amount
      expect(order.store_id).toBe('shop_a1')
      expect(amount).toMatch(/^\d+\.\d\d$/)
      orders.push(order)
    }
    expect(orders).toHaveLength(30) // 3 a day for 10 days
    const pages = []
    for await (const page of l.pages(shopOrdersType, 'orders', { store_id: 'shop_a1' }, { pageSize: 25 }))
      pages.push(page.data.length)
    expect(pages).toEqual([25, 5])
    await expect(collect(l.records(shopOrdersType, 'orders', { store_id: 'shop_a2' }))).rejects.toMatchObject(
      { code: 'outside_consent' },
    )
  })
})

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}
