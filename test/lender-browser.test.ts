/**
 * Beacon Lending (the demo recipient) and Harbor Pay (the demo holder) in a real Chromium: connect,
 * sign in, allow, read the affordability summary, disconnect; and a revocation at Harbor Pay reaching
 * the lender through its webhook.
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

  /** From the landing page through Harbor Pay's login and consent, back to the summary. */
  async function connect(page: Page) {
    await page.goto(`${lender.url}/`)
    await page.getByRole('button', { name: 'Connect Harbor Pay' }).click()
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
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${lender.url}/summary`)
  }

  it('connects Harbor Pay, shows the affordability summary, and disconnects', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    const landing = await page.goto(`${lender.url}/`)
    const h = landing!.headers()
    expect(h['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(h['content-security-policy']).not.toContain('unsafe-inline')
    expect(h['x-frame-options']).toBe('DENY')
    expect(await page.locator('body').innerText()).toMatch(/without giving us a password/i)

    await connect(page)
    await visible(page, 'Your affordability summary')
    const text = await page.locator('body').innerText()
    expect(text).toMatch(/MONTHLY INCOME\s*€[\d,]+\.\d\d/i)
    expect(text).toMatch(/MONTHLY SPENDING\s*€[\d,]+\.\d\d/i)
    expect(text).toContain('What Harbor Pay shared with us')
    expect(text).toContain('Everyday Wallet')
    expect(text).toContain('Rainy Day Savings')
    expect(text).toMatch(/the last 365 days/)
    expect(await page.locator('.chart .bar').count()).toBeGreaterThanOrEqual(12)
    // The session cookie is httpOnly and SameSite=Lax.
    const session = (await page.context().cookies()).find((c) => c.name === 'beacon_session')
    expect(session?.httpOnly).toBe(true)
    expect(session?.sameSite).toBe('Lax')
    await page.screenshot({ path: `${SHOTS}/lender-summary.png`, fullPage: true })

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
  })

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
    await page.getByRole('button', { name: 'Connect Harbor Pay' }).click()
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
