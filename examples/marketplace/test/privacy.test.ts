/**
 * A `marketplace_sales` grant never returns a buyer's personal data: every byte Bazaar Market answers
 * over a full listing — every route in its RFC 9728 `consentry_routes`, every store of both sellers,
 * every page, every field — is scanned for every seeded buyer's name, email, phone and street address.
 * The consent and "Connected apps" pages the sellers see are scanned too.
 */
import { memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FormBrowser } from '../../../test/helpers/browser.ts'
import {
  consent,
  exchange,
  link,
  pushRequest,
  registerRecipient,
  resourceGet,
} from '../../../test/helpers/recipient.ts'
import { type BazaarMarket, startBazaarMarket } from '../src/app.ts'
import type { Buyer } from '../src/data.ts'

let market: BazaarMarket

beforeAll(async () => {
  market = await startBazaarMarket({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
  })
})
afterAll(async () => {
  await market?.close()
})

/** Every way a buyer's details could be spelled in a response: as is, lower case, JSON-escaped. */
function needles(buyers: readonly Buyer[]): string[] {
  const ascii = (s: string) =>
    s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  const out = new Set<string>()
  for (const b of buyers)
    for (const secret of [b.name, b.email, b.phone, b.street, b.phone.replace(/\s/g, '')]) {
      out.add(secret.toLowerCase())
      out.add(ascii(secret).toLowerCase())
      out.add(encodeURIComponent(secret).toLowerCase())
    }
  return [...out]
}

/** The needles found in a response body (decoded as UTF-8, and as Latin-1 for any stray encoding). */
function leaks(bytes: Uint8Array, all: string[]): string[] {
  const texts = [new TextDecoder('utf-8').decode(bytes), new TextDecoder('latin1').decode(bytes)].map((t) =>
    t.toLowerCase(),
  )
  return all.filter((n) => texts.some((t) => t.includes(n)))
}

describe('Bazaar Market never lets a buyer’s personal data out', () => {
  for (const seller of ['sam', 'kim'] as const)
    it(`a full listing of every route, store and page of ${seller}'s grant holds no buyer name, email, phone or street`, async () => {
      const data = market.data()
      const all = needles(data.buyers)
      expect(all.length).toBeGreaterThan(400)
      const r = await registerRecipient(market.issuer, { name: 'Tidewater Payments' })
      const browser = new FormBrowser()
      const detail = {
        type: 'marketplace_sales',
        datatypes: ['settlements', 'orders', 'refunds'],
        // No `fields` and no `stores`: every field of every datatype, and the seller ticks every store.
        period: { from: data.firstDay, to: data.today },
        purpose: 'payment_processing',
        max_reads_per_day: 1000,
      }
      const pending = await pushRequest(r, [detail])
      const answer = await consent(market.issuer, pending, { username: seller, password: seller }, browser)
      expect(answer.status).toBe(303)
      // The consent page the seller read.
      expect(answer.page).toContain('Choose the stores to share')
      expect(leaks(new TextEncoder().encode(answer.page), all)).toEqual([])
      const { tokens, DPoP } = await exchange(r, pending, answer.location!)
      const granted = (tokens.authorization_details as Array<Record<string, unknown>>)[0]!
      const stores = data.storesOf(seller).map((s) => s.id)
      expect(granted.stores).toEqual(stores)

      // The routes, as the resource metadata lists them.
      const metaUrl = new URL('/.well-known/oauth-protected-resource/api', market.issuer)
      const meta = await (await fetch(metaUrl)).json()
      const routes = (
        meta.consentry_routes as Array<{ type: string; path: string; datatype?: string }>
      ).filter((x) => x.type === 'marketplace_sales')
      expect(routes.map((x) => x.path).sort()).toEqual([
        '/stores',
        '/stores/{store_id}/orders',
        '/stores/{store_id}/refunds',
        '/stores/{store_id}/settlements',
      ])

      let bytes = 0
      const counts: Record<string, number> = {}
      const fetchAll = async (path: string) => {
        let url: string | undefined = `${meta.resource}${path}?limit=500`
        while (url) {
          const res = await resourceGet(tokens.access_token, url, DPoP)
          const body = new Uint8Array(await res.arrayBuffer())
          expect(res.status, `${path}: ${new TextDecoder().decode(body).slice(0, 200)}`).toBe(200)
          bytes += body.length
          expect(leaks(body, all), path).toEqual([])
          const json = JSON.parse(new TextDecoder().decode(body))
          if (Array.isArray(json.data)) counts[path] = (counts[path] ?? 0) + json.data.length
          url = json.next_cursor
            ? `${meta.resource}${path}?limit=500&cursor=${encodeURIComponent(json.next_cursor)}`
            : undefined
        }
      }
      for (const route of routes)
        for (const store of route.path.includes('{store_id}') ? stores : [undefined])
          await fetchAll(route.path.replace('{store_id}', encodeURIComponent(store ?? '')))

      // It was a full listing: every record of every store, over more than one page.
      for (const store of stores) {
        const rows = data.rows(store)
        expect(counts[`/stores/${store}/orders`]).toBe(rows.orders.length)
        expect(counts[`/stores/${store}/refunds`]).toBe(rows.refunds.length)
        expect(counts[`/stores/${store}/settlements`]).toBe(rows.settlements.length)
      }
      expect(bytes).toBeGreaterThan(300_000)

      // The seller's "Connected apps", with the access log of all those reads.
      const consents = await browser.request(`${market.issuer}/consents`)
      expect(consents.status).toBe(200)
      expect(leaks(new Uint8Array(await consents.arrayBuffer()), all)).toEqual([])
    })

  it('has no field, datatype or route that could ask for a buyer', async () => {
    const r = await registerRecipient(market.issuer)
    for (const fields of [['buyer_name'], ['email'], ['phone'], ['ship_to_address'], ['address']]) {
      await expect(
        link(market.issuer, r, [
          {
            type: 'marketplace_sales',
            datatypes: ['orders'],
            fields,
            period: { lookback_days: 30 },
            purpose: 'payment_processing',
          },
        ]),
      ).rejects.toMatchObject({ error: 'invalid_authorization_details' })
    }
    for (const datatypes of [['buyers'], ['customers']])
      await expect(
        link(market.issuer, r, [
          {
            type: 'marketplace_sales',
            datatypes,
            period: { lookback_days: 30 },
            purpose: 'payment_processing',
          },
        ]),
      ).rejects.toMatchObject({ error: 'invalid_authorization_details' })
  })
})
