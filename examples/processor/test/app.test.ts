/**
 * Tidewater Payments end to end over real HTTP (no browser), against a real Bazaar Market: connect
 * through the marketplace's real sign-in and consent forms, the payouts page reconciled against the
 * marketplace's own figures, the seller revoking on Bazaar Market's "Connected apps" — Tidewater's next
 * read fails and it shows the link as ended — and the signed revocation event doing the same without a
 * read.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FormBrowser, hiddenInput } from '../../../test/helpers/browser.ts'
import { consent } from '../../../test/helpers/recipient.ts'
import { type BazaarMarket, startBazaarMarket } from '../../marketplace/src/app.ts'
import { startTidewater, type Tidewater } from '../src/app.ts'
import { formatMoney } from '../src/reconcile.ts'

let market: BazaarMarket
const dirs: string[] = []
const apps: Tidewater[] = []

beforeAll(async () => {
  market = await startBazaarMarket({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
  })
})
afterAll(async () => {
  for (const a of apps) await a.close().catch(() => {})
  await market?.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function startApp(options: { webhooks?: boolean } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tidewater-'))
  dirs.push(dataDir)
  const app = await startTidewater({
    port: 0,
    holderIssuer: market.issuer,
    dataDir,
    log: () => {},
    ...options,
  })
  apps.push(app)
  return { app, dataDir }
}

/** Tidewater's landing → Connect → sign in and allow at Bazaar Market as the seller → the payouts page. */
async function connectSeller(app: Tidewater, seller: 'sam' | 'kim') {
  const browser = new FormBrowser()
  const marketBrowser = new FormBrowser()
  const landing = await (await browser.request(`${app.url}/`)).text()
  expect(landing).toContain('Connect Bazaar Market')
  const started = await browser.request(`${app.url}/connect`, {
    form: { csrf: hiddenInput(landing, 'csrf') },
  })
  expect(started.status).toBe(303)
  const authorize = started.headers.get('location')!
  expect(authorize.startsWith(`${market.issuer}/authorize?`)).toBe(true)
  const answer = await consent(
    market.issuer,
    { url: authorize } as never,
    { username: seller, password: seller },
    marketBrowser,
  )
  expect(answer.status).toBe(303)
  // What the seller read: Bazaar Market's words for what Tidewater asks.
  expect(answer.page).toContain('Tidewater Payments')
  expect(answer.page).toMatch(/change listings, prices or your payout account/)
  expect(answer.page).toContain('To collect your payouts and check them against your sales.')
  const back = await browser.request(answer.location!)
  expect(back.status).toBe(303)
  expect(back.headers.get('location')).toBe('/payouts')
  return { browser, marketBrowser }
}

/** The seller ends the grant on Bazaar Market's "Connected apps" (real form, real CSRF token). */
async function sellerRevokes(marketBrowser: FormBrowser) {
  const list = await (await marketBrowser.request(`${market.issuer}/consents`)).text()
  expect(list).toContain('Tidewater Payments')
  const grantId = /href="\/consents\/([A-Za-z0-9_-]+)"/.exec(list)![1]!
  const confirm = await marketBrowser.request(`${market.issuer}/consents/${grantId}/revoke`)
  expect(confirm.status).toBe(200)
  const done = await marketBrowser.request(`${market.issuer}/consents/${grantId}/revoke`, {
    form: { csrf: hiddenInput(await confirm.text(), 'csrf') },
  })
  expect(done.status).toBe(303)
  return grantId
}

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')

describe('Tidewater Payments', () => {
  it('serves the landing page with CSP, anti-framing, no script or inline style, and a CSRF-protected Connect', async () => {
    const { app } = await startApp()
    const res = await fetch(`${app.url}/`)
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy')!
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain(`form-action 'self' ${new URL(market.issuer).origin}`)
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    const html = await res.text()
    expect(html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i)
    expect(html).toMatch(/<button[^>]*>Connect Bazaar Market<\/button>/)
    expect((await fetch(`${app.url}/connect`, { method: 'POST' })).status).toBe(403)
    await app.close()
  })

  it('connects sam, shows the upcoming payout and both stores reconciled, and flags the settlement that does not add up', async () => {
    const { app } = await startApp()
    const { browser } = await connectSeller(app, 'sam')
    const res = await browser.request(`${app.url}/payouts`)
    expect(res.status).toBe(200)
    const page = text(await res.text())
    expect(page).toContain('Your payouts')
    expect(page).toMatch(/Upcoming payout/)
    expect(page).toContain("Sam's Outdoor Gear")
    expect(page).toContain("Sam's Outdoor Gear UK")

    // The marketplace's own figures: the latest settlement of each store is on the page, in its currency.
    const data = market.data()
    for (const [storeId, currency] of [
      ['st_sam_eu', 'EUR'],
      ['st_sam_uk', 'GBP'],
    ] as const) {
      const latest = data.rows(storeId).settlements.at(-1)!
      expect(page).toContain(formatMoney(latest.netCents, currency))
      expect(page).toContain(formatMoney(latest.grossCents, currency))
    }
    expect(page).toMatch(/€[\d,]+\.\d\d/)
    expect(page).toMatch(/£[\d,]+\.\d\d/)

    // Exactly one settlement does not add up: the one seeded wrong, with the order it left out.
    const faulty = data.rows('st_sam_eu').settlements.find((s) => s.missedOrderId)!
    const missed = data.rows('st_sam_eu').orders.find((o) => o.id === faulty.missedOrderId)!
    expect(page).toContain('1 settlement does not add up')
    expect(page).toContain(`${formatMoney(missed.cents, 'EUR')} short`)
    expect(page).toContain(missed.id)
    expect((page.match(/Does not add up/g) ?? []).length).toBe(1)
    expect((page.match(/Adds up/g) ?? []).length).toBeGreaterThanOrEqual(6)

    // Tidewater asked only for what it needs, and read only that.
    const reads = await market.server.audit.list({ types: ['data.read'] })
    expect(reads.length).toBeGreaterThanOrEqual(7) // stores + 3 datatypes × 2 stores
    for (const e of reads) {
      const fields = (e.data as { fields?: string[] }).fields
      if (fields)
        for (const f of fields)
          expect(['items', 'status', 'ship_to_country', 'reason', 'order_id']).not.toContain(f)
    }
    await app.close()
  })

  it('shows the link as ended when the seller revokes at Bazaar Market: the next read fails (no webhook)', async () => {
    const { app, dataDir } = await startApp({ webhooks: false })
    const { browser, marketBrowser } = await connectSeller(app, 'kim')
    const before = await browser.request(`${app.url}/payouts`)
    expect(text(await before.text())).toContain("Kim's Clay Studio")
    const grantId = await sellerRevokes(marketBrowser)
    // Tidewater was not told (no webhook registered): it still holds the link.
    expect(Object.keys(JSON.parse(await readFile(join(dataDir, 'links.json'), 'utf8')))).toContain(grantId)

    const after = await browser.request(`${app.url}/payouts`)
    expect(after.status).toBe(200)
    const page = text(await after.text())
    expect(page).toContain('Link ended')
    expect(page).toContain('Your Bazaar Market link has ended')
    expect(page).toContain('Access was revoked at Bazaar Market')
    expect(page).not.toContain('told us straight away')
    expect(page).toMatch(/our last read, at \d\d:\d\d UTC on \d+ \w+ \d{4}, was refused/)
    expect(page).not.toContain('Upcoming payout')
    expect(page).toContain('Connect Bazaar Market')
    // The failed read dropped the link; the page stays ended on later visits.
    expect(JSON.parse(await readFile(join(dataDir, 'links.json'), 'utf8'))).toEqual({})
    expect(text(await (await browser.request(`${app.url}/payouts`)).text())).toContain('Link ended')
    await app.close()
  })

  it('marks the link ended from the signed revocation event, before any read', async () => {
    const { app, dataDir } = await startApp()
    const { browser, marketBrowser } = await connectSeller(app, 'sam')
    const grantId = await sellerRevokes(marketBrowser)
    const delivered = () => market.server.audit.list({ grantId, types: ['webhook.delivered'] })
    for (let i = 0; i < 400 && (await delivered()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 25))
    expect(await delivered()).toHaveLength(1)
    expect(JSON.parse(await readFile(join(dataDir, 'links.json'), 'utf8'))).toEqual({})
    const readsBefore = (await market.server.audit.list({ grantId, types: ['data.read'] })).length
    const page = text(await (await browser.request(`${app.url}/payouts`)).text())
    expect(page).toContain('Your Bazaar Market link has ended')
    expect(page).toContain('told us straight away')
    expect((await market.server.audit.list({ grantId, types: ['data.read'] })).length).toBe(readsBefore)
    await app.close()
  })

  it('disconnects: the grant ends at Bazaar Market', async () => {
    const { app } = await startApp()
    const { browser } = await connectSeller(app, 'kim')
    const page = await (await browser.request(`${app.url}/payouts`)).text()
    const done = await browser.request(`${app.url}/disconnect`, { form: { csrf: hiddenInput(page, 'csrf') } })
    expect(done.status).toBe(303)
    expect(done.headers.get('location')).toBe('/disconnected')
    const revoked = await market.server.audit.list({ types: ['grant.revoked'] })
    expect(revoked.some((e) => e.actor.type === 'client')).toBe(true)
    await app.close()
  })
})
