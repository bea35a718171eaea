import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { memoryStore } from '@consentry/server'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { hasChromium, launchChromium } from './helpers/chromium.ts'
import {
  exchange,
  HISTORY_DETAIL,
  pushRequest,
  type Recipient,
  registerRecipient,
  resourceGet,
} from './helpers/recipient.ts'

const SHOTS = 'test/artifacts/screenshots'
let holder: HarborPay
let r: Recipient
let browser: Browser
// A real recipient callback endpoint: records where the browser was sent back to.
let callbackServer: Server
let callbacks: string[] = []

// CI installs Chromium (.ci/run); a machine without it cannot run these, and says so.
describe.skipIf(!hasChromium)('the account holder in a real browser (Chromium)', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
    callbackServer = createServer((req, res) => {
      if (req.url?.startsWith('/callback')) callbacks.push(new URL(req.url, 'http://127.0.0.1').href)
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Back at Beacon Lending</h1>')
    })
    await new Promise<void>((ok) => callbackServer.listen(0, '127.0.0.1', ok))
    const port = (callbackServer.address() as AddressInfo).port
    r = await registerRecipient(holder.issuer, {
      name: 'Beacon Lending',
      redirectUri: `http://127.0.0.1:${port}/callback`,
    })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await holder?.close()
    callbackServer?.close()
  })

  /** Go through PAR → login → consent in the page; return the callback URL the browser was sent to. */
  async function consentInBrowser(page: Page, opts: { keyboard?: boolean; screenshot?: string } = {}) {
    const pending = await pushRequest(r, [HISTORY_DETAIL])
    callbacks = []
    await page.goto(pending.url)
    await page.getByLabel('Username').fill('alice')
    await page.getByLabel('Password').fill('alice')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(page.getByRole('button', { name: 'Allow' })).toBeVisibleSoon()
    const text = await page.locator('body').innerText()
    expect(text).toContain('Beacon Lending')
    expect(text).toContain('Credit assessment')
    expect(text).toMatch(/90 days/)
    if (opts.screenshot) await page.screenshot({ path: `${SHOTS}/${opts.screenshot}`, fullPage: true })
    if (opts.keyboard) {
      // Untick "Rainy Day Savings" and "Description" and allow, with the keyboard only.
      await focusByTab(page, (el) => el.getAttribute('value') === 'acc_alice_savings')
      await page.keyboard.press('Space')
      await focusByTab(page, (el) => el.getAttribute('value') === 'description')
      await page.keyboard.press('Space')
      await focusByTab(page, (el) => el.textContent?.trim() === 'Allow')
      await page.keyboard.press('Enter')
    } else {
      await page.getByLabel('Rainy Day Savings').uncheck()
      await page.getByRole('button', { name: 'Allow' }).click()
    }
    await page.waitForURL(/\/callback\?/)
    expect(callbacks).toHaveLength(1)
    return exchange(r, pending, page.url())
  }

  it('consents with the keyboard only, then reads, and the grant shows the narrowed choice', async () => {
    const page = await browser.newPage()
    const { tokens, DPoP } = await consentInBrowser(page, { keyboard: true, screenshot: 'consent-page.png' })
    const granted = (
      tokens as unknown as { authorization_details: Array<{ accounts: string[]; fields: string[] }> }
    ).authorization_details[0]!
    expect(granted.accounts).toEqual(['acc_alice_wallet'])
    expect(granted.fields).not.toContain('description')
    const res = await resourceGet(
      tokens.access_token,
      `${holder.issuer}/api/accounts/acc_alice_wallet/transactions?limit=3`,
      DPoP,
    )
    expect(res.status).toBe(200)
    await page.close()
  })

  it('shows the connected app with its details and access log, revokes it, and the next read fails', async () => {
    const page = await browser.newPage()
    const { tokens, DPoP } = await consentInBrowser(page)
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    const url = `${holder.issuer}/api/accounts/acc_alice_wallet/transactions?limit=5`
    expect((await resourceGet(tokens.access_token, url, DPoP)).status).toBe(200)
    expect((await resourceGet(tokens.access_token, `${holder.issuer}/api/accounts`, DPoP)).status).toBe(200)

    await page.goto(`${holder.issuer}/consents`)
    await expect(page.getByRole('heading', { level: 1, name: 'Connected apps' })).toBeVisibleSoon()
    const card = page.locator(`a[href$="/consents/${grantId}"]`).first()
    const dashboard = await page.locator('body').innerText()
    expect(dashboard).toContain('Beacon Lending')
    expect(dashboard).toContain('Credit assessment')
    expect(dashboard).toContain('Everyday Wallet')
    await page.screenshot({ path: `${SHOTS}/dashboard.png`, fullPage: true })

    await card.click()
    await page.waitForURL(new RegExp(`/consents/${grantId}$`))
    const detail = await page.locator('body').innerText()
    expect(detail).toContain('Everyday Wallet')
    const rows = page.locator('table tbody tr')
    expect(await rows.count()).toBe(2) // one transactions read, one account-list read
    await page.screenshot({ path: `${SHOTS}/grant-detail.png`, fullPage: true })

    await page.getByRole('button', { name: 'Revoke' }).click()
    await page.getByRole('button', { name: 'Revoke access' }).click()
    await expect(page.getByRole('status')).toBeVisibleSoon()
    expect(await page.getByRole('status').innerText()).toMatch(/revoked/i)
    await page.screenshot({ path: `${SHOTS}/revoked.png`, fullPage: true })

    const after = await resourceGet(tokens.access_token, url, DPoP)
    expect(after.status).toBe(401)
    expect(after.headers.get('www-authenticate')).toContain('invalid_token')
    await page.close()
  })

  it('lets the dashboard be used with the keyboard alone', async () => {
    const page = await browser.newPage()
    await consentInBrowser(page)
    await page.goto(`${holder.issuer}/consents`)
    await focusByTab(page, (el) => el.tagName === 'A' && /Details/.test(el.textContent ?? ''))
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/consents\/gr_/)
    await focusByTab(page, (el) => el.tagName === 'BUTTON' && el.textContent?.trim() === 'Revoke')
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/revoke/)
    await focusByTab(page, (el) => el.textContent?.trim() === 'Revoke access')
    await page.keyboard.press('Enter')
    await expect(page.getByRole('status')).toBeVisibleSoon()
    await page.close()
  })

  it('refuses to be framed and sends no referrer', async () => {
    const page = await browser.newPage()
    const res = await page.goto(`${holder.issuer}/login`)
    const h = res!.headers()
    expect(h['x-frame-options']).toBe('DENY')
    expect(h['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(h['referrer-policy']).toBe('no-referrer')
    await page.close()
  })
})

/** Press Tab until the focused element matches (at most 60 times): proves it is reachable by keyboard. */
async function focusByTab(page: Page, match: (el: Element) => boolean) {
  const fn = `(${match.toString()})(document.activeElement)`
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab')
    if (await page.evaluate(fn)) return
  }
  throw new Error(`not reachable by keyboard: ${match.toString()}`)
}

declare module 'vitest' {
  interface Assertion {
    toBeVisibleSoon(): Promise<void>
  }
}
expect.extend({
  async toBeVisibleSoon(locator: { waitFor(o: { state: 'visible'; timeout: number }): Promise<void> }) {
    try {
      await locator.waitFor({ state: 'visible', timeout: 10_000 })
      return { pass: true, message: () => 'visible' }
    } catch {
      return { pass: false, message: () => 'expected the element to become visible' }
    }
  },
})
