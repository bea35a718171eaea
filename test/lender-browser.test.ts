/**
 * Beacon Lending (the demo recipient) and Harbor Pay (the demo holder) in a real Chromium: the person
 * chooses "monthly totals only" (the default), signs in, allows, and the lender shows Harbor Pay's
 * signed summary; the full-history path; disconnect; and a revocation at Harbor Pay reaching the
 * lender through its webhook. Screenshots of the monthly-totals path go to /tmp/shots.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { memoryStore } from '@consentry/server'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BeaconLending, startBeaconLending } from '../examples/lender/src/app.ts'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { hasChromium, launchChromium } from './helpers/chromium.ts'

const SHOTS = 'test/artifacts/screenshots'
const TOTALS_SHOTS = '/tmp/shots'
const TOTALS = 'Share monthly totals only — recommended'
const HISTORY = 'Share full transaction history'
const SEES =
  'Beacon Lending will see your monthly totals only — not your transactions, descriptions or who you paid.'
let holder: HarborPay
let lender: BeaconLending
let browser: Browser
let dataDir: string

const visible = (page: Page, text: string | RegExp) =>
  page.getByText(text).first().waitFor({ state: 'visible', timeout: 10_000 })

// CI installs Chromium (.ci/run); a machine without it cannot run these, and says so.
describe.skipIf(!hasChromium)('Beacon Lending in a real browser (Chromium)', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    mkdirSync(TOTALS_SHOTS, { recursive: true })
    dataDir = mkdtempSync(join(tmpdir(), 'beacon-lending-'))
    holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
    lender = await startBeaconLending({ port: 0, holderIssuer: holder.issuer, dataDir, log: () => {} })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await lender?.close()
    await holder?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  /** From the landing page (one of its two buttons) through Harbor Pay's login and consent, back to the summary. */
  async function connect(page: Page, button = TOTALS, atConsent?: (page: Page) => Promise<void>) {
    await page.goto(`${lender.url}/`)
    await page.getByRole('button', { name: button }).click()
    await page.waitForURL((u) => u.href.startsWith(holder.issuer))
    if (
      await page
        .getByLabel('Username')
        .isVisible()
        .catch(() => false)
    ) {
      await page.getByLabel('Username').fill('alice')
      await page.getByLabel('Password').fill('alice')
      await page.getByRole('button', { name: 'Sign in' }).click()
    }
    await page.getByRole('button', { name: 'Allow' }).waitFor({ state: 'visible', timeout: 10_000 })
    expect(await page.locator('body').innerText()).toContain('Beacon Lending')
    await atConsent?.(page)
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${lender.url}/summary`)
  }

  it('the person chooses monthly totals only; the lender shows Harbor Pay’s signed summary; disconnect', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    const landing = await page.goto(`${lender.url}/`)
    const h = landing!.headers()
    expect(h['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(h['content-security-policy']).not.toContain('unsafe-inline')
    expect(h['x-frame-options']).toBe('DENY')
    expect(await page.locator('body').innerText()).toMatch(/without giving us a password/i)
    // Monthly totals is the first, primary choice; the full history the secondary one.
    const buttons = await page.locator('form[action="/connect"] button').allInnerTexts()
    expect(buttons).toEqual([TOTALS, HISTORY])
    expect(await page.getByRole('button', { name: TOTALS }).getAttribute('class')).toContain('primary')
    await page.screenshot({ path: `${TOTALS_SHOTS}/1-lender-landing.png`, fullPage: true })

    await connect(page, TOTALS, async (consentPage) => {
      // Harbor Pay's consent page says, in plain words, what is and is not shared.
      const text = await consentPage.locator('body').innerText()
      expect(text).toContain(SEES)
      expect(text).toContain('Everyday Wallet')
      expect(text).toContain('Rainy Day Savings')
      expect(text).not.toMatch(/Details of each transaction/)
      await consentPage.screenshot({ path: `${TOTALS_SHOTS}/2-harbor-pay-consent.png`, fullPage: true })
    })
    await visible(page, 'Your affordability summary')
    const text = await page.locator('body').innerText()
    expect(text).toMatch(/MONTHLY INCOME\s*€[\d,]+\.\d\d/i)
    expect(text).toMatch(/MONTHLY SPENDING\s*€[\d,]+\.\d\d/i)
    expect(text).toContain('What Harbor Pay shared with us')
    // It says which kind of data it has, and that the figures are signed by Harbor Pay.
    expect(text).toContain('Monthly totals only')
    expect(text).toContain('Signed by Harbor Pay.')
    expect(text).toContain('not your transactions, descriptions or who you paid')
    expect(text).toContain('2 accounts you chose')
    expect(text).not.toContain('Everyday Wallet') // names are not part of monthly totals
    expect(text).toMatch(/the last 365 days/)
    expect(text).toMatch(/DAYS OVERDRAWN/i)
    expect(await page.locator('.chart .bar').count()).toBeGreaterThanOrEqual(12)
    expect(await page.locator('table.months tbody tr').count()).toBe(13)
    // The session cookie is httpOnly and SameSite=Lax.
    const session = (await page.context().cookies()).find((c) => c.name === 'beacon_session')
    expect(session?.httpOnly).toBe(true)
    expect(session?.sameSite).toBe('Lax')
    await page.screenshot({ path: `${TOTALS_SHOTS}/3-lender-summary-monthly-totals.png`, fullPage: true })

    // Harbor Pay's access log names the read in plain words.
    const hp = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    await hp.goto(`${holder.issuer}/consents`)
    await hp.getByLabel('Username').fill('alice')
    await hp.getByLabel('Password').fill('alice')
    await hp.getByRole('button', { name: 'Sign in' }).click()
    await hp.locator('a[href*="/consents/"]').first().click()
    const log = await hp.locator('body').innerText()
    expect(log).toContain(SEES)
    expect(log).toMatch(/monthly totals, [A-Z][a-z]{2} \d{4} – [A-Z][a-z]{2} \d{4}/)
    await hp.screenshot({ path: `${TOTALS_SHOTS}/4-harbor-pay-access-log.png`, fullPage: true })
    await hp.close()

    await page.getByRole('button', { name: /Disconnect/ }).click()
    await page.waitForURL(`${lender.url}/disconnected`)
    expect(await page.getByRole('status').innerText()).toMatch(/Access ended/)
    // Harbor Pay agrees: the grant is revoked.
    const grants = await holder.server.audit.list({ types: ['grant.revoked'] })
    expect(grants).toHaveLength(1)
    // And the summary is no longer available.
    await page.goto(`${lender.url}/summary`)
    expect(page.url()).toBe(`${lender.url}/`)
    await page.close()
  }, 120_000)

  it('the person chooses the full transaction history instead; the lender says so', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    await connect(page, HISTORY)
    await visible(page, 'Your affordability summary')
    const text = await page.locator('body').innerText()
    expect(text).toContain('Full transaction history')
    expect(text).toMatch(/From [\d,]+ transactions Harbor Pay shared/)
    expect(text).toContain('Everyday Wallet')
    expect(text).toContain('Rainy Day Savings')
    expect(text).not.toContain('Signed by Harbor Pay')
    await page.screenshot({ path: `${SHOTS}/lender-summary.png`, fullPage: true })
    await page.screenshot({ path: `${TOTALS_SHOTS}/5-lender-summary-full-history.png`, fullPage: true })
    await page.getByRole('button', { name: /Disconnect/ }).click()
    await page.waitForURL(`${lender.url}/disconnected`)
    await page.close()
  }, 120_000)

  it('shows "connection ended" after the person revokes at Harbor Pay (pushed to the lender’s webhook)', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    await connect(page)
    await visible(page, 'Your affordability summary')

    const hp = await browser.newPage()
    await hp.goto(`${holder.issuer}/consents`)
    if (
      await hp
        .getByLabel('Username')
        .isVisible()
        .catch(() => false)
    ) {
      await hp.getByLabel('Username').fill('alice')
      await hp.getByLabel('Password').fill('alice')
      await hp.getByRole('button', { name: 'Sign in' }).click()
    }
    await hp.locator('a[href*="/consents/"]').first().click()
    await hp.getByRole('button', { name: 'Revoke' }).click()
    await hp.getByRole('button', { name: 'Revoke access' }).click()
    await hp.getByRole('status').waitFor({ state: 'visible', timeout: 10_000 })

    // The holder pushes a signed event to the lender; wait for its delivery to be recorded.
    const revoked = (await holder.server.audit.list({ types: ['grant.revoked'] })).find(
      (e) => e.actor.type === 'subject',
    )
    expect(revoked?.grant_id).toBeTruthy()
    const delivered = () =>
      holder.server.audit.list({ grantId: revoked!.grant_id!, types: ['webhook.delivered'] })
    for (let i = 0; i < 200 && (await delivered()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 25))
    expect(await delivered()).toHaveLength(1)

    await page.goto(`${lender.url}/summary`)
    await visible(page, 'Your connection was ended at Harbor Pay')
    expect(await page.getByRole('button', { name: 'Connect Harbor Pay' }).isVisible()).toBe(true)
    await page.screenshot({ path: `${SHOTS}/lender-ended.png`, fullPage: true })
    await hp.close()
    await page.close()
  })

  it('says "nothing was shared" when the person declines', async () => {
    const page = await browser.newPage()
    await page.goto(`${lender.url}/`)
    await page.getByRole('button', { name: TOTALS }).click()
    await page.getByLabel('Username').fill('alice')
    await page.getByLabel('Password').fill('alice')
    await page.getByRole('button', { name: 'Sign in' }).click()
    const deny = page.getByRole('button', { name: /Deny|Don.t allow|Cancel/ }).first()
    await deny.waitFor({ state: 'visible', timeout: 10_000 })
    await deny.click()
    await visible(page, 'You declined — nothing was shared')
    await page.close()
  })
})
