/**
 * Tidewater Payments (the demo processor) and Bazaar Market (the demo marketplace) in a real
 * Chromium: connect, sign in as a seller, allow, see the upcoming payout and the settlements
 * reconciled (one flagged); the seller revokes on Bazaar Market's "Connected apps", Tidewater's next
 * read fails and it shows the link as ended. Screenshots go to `test/artifacts/screenshots` (or
 * `$CONSENTRY_SHOTS`).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { memoryStore } from '@consentry/server'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hasChromium, launchChromium } from '../../../test/helpers/chromium.ts'
import { type BazaarMarket, startBazaarMarket } from '../../marketplace/src/app.ts'
import { startTidewater, type Tidewater } from '../src/app.ts'
import { formatMoney } from '../src/reconcile.ts'

const SHOTS = process.env.CONSENTRY_SHOTS ?? 'test/artifacts/screenshots'
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
let market: BazaarMarket
let processor: Tidewater
let browser: Browser
let dataDir: string

const visible = (page: Page, text: string | RegExp) =>
  page.getByText(text).first().waitFor({ state: 'visible', timeout: 10_000 })

async function signIn(page: Page, who: string) {
  await page.getByLabel('Username').fill(who)
  await page.getByLabel('Password').fill(who)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/** axe-core's WCAG 2.1 A/AA violations on the page, summarized (the context bypasses CSP to inject it). */
async function audit(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE })
  return page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected as a global
    const result = await (window as any).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    })
    return result.violations.map(
      (v: { id: string; nodes: { target: string[] }[] }) =>
        `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    )
  })
}

// CI installs Chromium (.ci/run); a machine without it cannot run these, and says so.
describe.skipIf(!hasChromium)('Tidewater Payments in a real browser (Chromium)', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    dataDir = mkdtempSync(join(tmpdir(), 'tidewater-'))
    market = await startBazaarMarket({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
    // No webhook: the revocation is learnt from the next read failing, as the story tells it.
    processor = await startTidewater({
      port: 0,
      holderIssuer: market.issuer,
      dataDir,
      webhooks: false,
      log: () => {},
    })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await processor?.close()
    await market?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('connects Bazaar Market, reconciles the payouts, and shows the link ended after the seller revokes', async () => {
    // bypassCSP only lets the test inject axe-core; the pages' own CSP is checked from the headers.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    const findings: Record<string, string[]> = {}
    const page = await context.newPage()
    const landing = await page.goto(`${processor.url}/`)
    expect(landing!.headers()['content-security-policy']).not.toContain('unsafe-inline')
    await page.screenshot({ path: `${SHOTS}/processor-landing.png`, fullPage: true })
    findings.landing = await audit(page)

    await page.getByRole('button', { name: 'Connect Bazaar Market' }).click()
    await page.waitForURL((u) => u.href.startsWith(market.issuer))
    await visible(page, 'Bazaar Market')
    await signIn(page, 'sam')
    await page.getByRole('button', { name: 'Allow' }).waitFor({ state: 'visible', timeout: 10_000 })
    const consentText = await page.locator('body').innerText()
    expect(consentText).toContain('Tidewater Payments')
    expect(consentText).toContain("Sam's Outdoor Gear")
    expect(consentText).toContain("Sam's Outdoor Gear UK")
    expect(consentText).toMatch(/change listings, prices or your payout account/)
    await page.screenshot({ path: `${SHOTS}/marketplace-consent.png`, fullPage: true })
    findings.consent = await audit(page)
    await page.getByRole('button', { name: 'Allow' }).click()

    await page.waitForURL(`${processor.url}/payouts`)
    await visible(page, 'Your payouts')
    const text = await page.locator('body').innerText()
    expect(text).toMatch(/payout/i)
    expect(text).toMatch(/UPCOMING PAYOUT[\s\S]*€[\d,]+\.\d\d/i)
    expect(text).toMatch(/£[\d,]+\.\d\d/)
    const data = market.data()
    const latest = data.rows('st_sam_eu').settlements.at(-1)!
    expect(text).toContain(formatMoney(latest.netCents, 'EUR'))
    expect(await page.getByRole('alert').innerText()).toMatch(/1 settlement does not add up/)
    expect(await page.locator('.check.bad').count()).toBe(1)
    expect(await page.locator('.check.ok').count()).toBeGreaterThanOrEqual(6)
    await page.screenshot({ path: `${SHOTS}/processor-payouts.png`, fullPage: true })
    findings.payouts = await audit(page)
    await page.setViewportSize({ width: 390, height: 844 })
    await page.screenshot({ path: `${SHOTS}/processor-payouts-phone.png`, fullPage: true })
    await page
      .locator('section.store')
      .first()
      .screenshot({ path: `${SHOTS}/processor-store-phone.png` })
    // On a phone the settlements table becomes one card per settlement: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    findings.payoutsPhone = await audit(page)
    await page.setViewportSize({ width: 1280, height: 900 })

    // The seller revokes at Bazaar Market's "Connected apps" (same browser: already signed in there).
    const bm = await context.newPage()
    await bm.goto(`${market.issuer}/consents`)
    if (
      await bm
        .getByLabel('Username')
        .isVisible()
        .catch(() => false)
    )
      await signIn(bm, 'sam')
    await visible(bm, 'Tidewater Payments')
    await bm.screenshot({ path: `${SHOTS}/marketplace-connected-apps.png`, fullPage: true })
    await bm.locator('a[href*="/consents/"]').first().click()
    await bm.screenshot({ path: `${SHOTS}/marketplace-grant.png`, fullPage: true })
    await bm.getByRole('button', { name: 'Revoke' }).click()
    await bm.getByRole('button', { name: 'Revoke access' }).click()
    await bm.getByRole('status').waitFor({ state: 'visible', timeout: 10_000 })
    const revoked = await market.server.audit.list({ types: ['grant.revoked'] })
    expect(revoked.map((e) => e.actor.type)).toEqual(['subject'])

    // Tidewater's next read fails: it shows the link as ended, and offers to connect again.
    await page.reload()
    await visible(page, 'Your Bazaar Market link has ended')
    expect(await page.locator('body').innerText()).toMatch(/LINK ENDED/i)
    expect(await page.getByRole('button', { name: 'Connect Bazaar Market' }).isVisible()).toBe(true)
    await page.screenshot({ path: `${SHOTS}/processor-ended.png`, fullPage: true })
    findings.ended = await audit(page)
    // Every page passes an automated WCAG 2.1 AA audit.
    expect(findings).toEqual({ landing: [], consent: [], payouts: [], payoutsPhone: [], ended: [] })
    await context.close()
  }, 180_000)

  it('says "nothing was shared" when the seller denies', async () => {
    const page = await browser.newPage()
    await page.goto(`${processor.url}/`)
    await page.getByRole('button', { name: 'Connect Bazaar Market' }).click()
    await signIn(page, 'kim')
    await page.getByRole('button', { name: 'Deny' }).click()
    await visible(page, 'You declined — nothing was shared')
    await page.close()
  }, 60_000)
})
