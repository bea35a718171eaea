/**
 * `@consentry/client`'s typed reads of a holder-defined data type (`link.read`, `link.pages`,
 * `link.records`) against the real Bazaar Market over real HTTP: the consented stores, datatypes,
 * period and fields — nothing more — page by page.
 */
import {
  type ConsentClient,
  createConsentClient,
  InvalidRequestError,
  type Link,
  OutsideConsentError,
  registerClient,
} from '@consentry/client'
import { marketplaceSalesType, type Order } from '@consentry/example-marketplace/contract'
import { memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FormBrowser } from '../../../test/helpers/browser.ts'
import { consent } from '../../../test/helpers/recipient.ts'
import { type BazaarMarket, startBazaarMarket } from '../../marketplace/src/app.ts'

let market: BazaarMarket
let client: ConsentClient
let link: Link

const DETAIL = {
  type: 'marketplace_sales',
  datatypes: ['settlements', 'orders'],
  fields: ['period_end', 'net_payout', 'ordered_at', 'amount'],
  period: { lookback_days: 60 },
  purpose: 'payment_processing',
  max_reads_per_day: 50,
}

beforeAll(async () => {
  market = await startBazaarMarket({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
  })
  const config = await registerClient({
    issuer: market.issuer,
    initialAccessToken: 'demo-initial-access-token',
    clientName: 'Tidewater Payments',
    redirectUris: ['http://127.0.0.1:9/callback'],
  })
  client = createConsentClient({ ...config, detailTypes: [marketplaceSalesType] })
  const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
  // Sam shares only his UK store.
  const answer = await consent(
    market.issuer,
    { url } as never,
    { username: 'sam', password: 'sam', accounts: ['st_sam_uk'] },
    new FormBrowser(),
  )
  expect(answer.status).toBe(303)
  link = await client.completeLink(answer.location!, pending)
})
afterAll(async () => {
  await market?.close()
})

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('typed reads of marketplace_sales', () => {
  it('read: the shared stores only, typed from the route schema', async () => {
    const { data } = await link.read(marketplaceSalesType, 'stores')
    expect(data).toEqual([{ id: 'st_sam_uk', name: "Sam's Outdoor Gear UK", currency: 'GBP', region: 'UK' }])
  })

  it('pages and records: every order of the consented period, consented fields only, page by page', async () => {
    const pages = []
    for await (const page of link.pages(
      marketplaceSalesType,
      'orders',
      { store_id: 'st_sam_uk' },
      { pageSize: 25 },
    ))
      pages.push(page)
    expect(pages.length).toBeGreaterThan(1)
    expect(pages.slice(0, -1).every((p) => p.next_cursor && p.data.length === 25)).toBe(true)
    const period = pages[0]!.period!
    const orders: Order[] = []
    for await (const o of link.records(marketplaceSalesType, 'orders', { store_id: 'st_sam_uk' }))
      orders.push(o)
    expect(orders).toEqual(pages.flatMap((p) => p.data))
    expect(new Set(orders.map((o) => o.id)).size).toBe(orders.length)
    const expected = market
      .data()
      .orders({ subject: 'sam', storeId: 'st_sam_uk', from: period.from, to: period.to, limit: 10_000 })
    expect(orders.map((o) => o.id)).toEqual(expected.map((o) => o.id))
    for (const o of orders) expect(Object.keys(o).sort()).toEqual(['amount', 'id', 'ordered_at', 'store_id'])
    const settlements = await collect(
      link.records(marketplaceSalesType, 'settlements', { store_id: 'st_sam_uk' }),
    )
    expect(settlements.length).toBeGreaterThanOrEqual(3)
    for (const s of settlements)
      expect(Object.keys(s).sort()).toEqual(['id', 'net_payout', 'period_end', 'store_id'])
  })

  it('refuses what was not consented: another store, another datatype', async () => {
    const read = (storeId: string) =>
      collect(link.records(marketplaceSalesType, 'orders', { store_id: storeId }))
    await expect(read('st_sam_eu')).rejects.toBeInstanceOf(OutsideConsentError)
    await expect(read('st_kim_us')).rejects.toBeInstanceOf(OutsideConsentError)
    await expect(
      collect(link.records(marketplaceSalesType, 'refunds', { store_id: 'st_sam_uk' })),
    ).rejects.toBeInstanceOf(OutsideConsentError)
  })

  it('checks its own arguments before sending anything', async () => {
    await expect(collect(link.records(marketplaceSalesType, 'orders', {}))).rejects.toBeInstanceOf(
      InvalidRequestError,
    )
    await expect(
      collect(
        link.records(marketplaceSalesType, 'orders', { store_id: 'st_sam_uk' }, { from: '2026-13-01' }),
      ),
    ).rejects.toBeInstanceOf(InvalidRequestError)
    // @ts-expect-error: `stores` is an object route, not a list
    await expect(collect(link.records(marketplaceSalesType, 'stores', {}))).rejects.toBeInstanceOf(
      InvalidRequestError,
    )
  })
})
