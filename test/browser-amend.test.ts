/**
 * Changing a grant in a real browser (Chromium): a first consent with a shorter period and an
 * earlier end chosen in the page's selects; a recipient's `merge` shown as "Adds:" and approved; the
 * person narrowing on the dashboard's "Change what Beacon Lending can see" form; both new pages
 * audited with axe-core (WCAG 2.1 AA). Screenshots go to /tmp/shots.
 */
import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { memoryStore } from '@consentry/server'
import type { Browser, BrowserContext, Page } from 'playwright-core'
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

const SHOTS = '/tmp/shots'
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
const DAY = 86_400_000
let holder: HarborPay
let r: Recipient
let browser: Browser
let context: BrowserContext
let callbackServer: Server

/** axe-core, WCAG 2.1 A and AA rules: the violations, summarized. */
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

describe.skipIf(!hasChromium)('changing a grant in a real browser (Chromium)', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
    callbackServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Back at Beacon Lending</h1>')
    })
    await new Promise<void>((ok) => callbackServer.listen(0, '127.0.0.1', ok))
    r = await registerRecipient(holder.issuer, {
      name: 'Beacon Lending',
      redirectUri: `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/callback`,
    })
    browser = await launchChromium()
    // axe is injected as a script: this context ignores the pages' CSP (the pages keep theirs).
    context = await browser.newContext({ viewport: { width: 1100, height: 900 }, bypassCSP: true })
  })
  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await holder?.close()
    callbackServer?.close()
  })

  it('first consent with a shorter period and an earlier end; a merge shown and approved; narrowing on the dashboard', async () => {
    const page = await context.newPage()
    // 1. First consent: both accounts, but only the last 30 days and for one week.
    const first = await pushRequest(r, [{ ...HISTORY_DETAIL, period: { lookback_days: 180 } }])
    await page.goto(first.url)
    await page.getByLabel('Username').fill('alice')
    await page.getByLabel('Password').fill('alice')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('button', { name: 'Allow' }).waitFor()
    await page.getByLabel('Period').selectOption({ label: 'The last month' })
    await page.getByLabel('Access until').selectOption({ value: 'days:7' })
    expect(await audit(page)).toEqual([])
    await page.screenshot({ path: `${SHOTS}/amend-1-consent-choices.png`, fullPage: true })
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(/\/callback\?/)
    const { tokens, DPoP } = await exchange(r, first, page.url())
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    let grant = (await holder.server.store.getGrant(grantId))!
    expect(grant.authorizationDetails[0]).toMatchObject({ period: { lookback_days: 30 } })
    expect(grant.expiresAt).toBeLessThan(Date.now() + 8 * DAY)

    // 2. The recipient asks for more: a merge of three more months; the page shows what it adds.
    const { expires_in: _e, max_reads_per_day: _m, ...more } = HISTORY_DETAIL
    const merge = await pushRequest(r, [{ ...more, period: { lookback_days: 120 } }], {
      grant_id: grantId,
      grant_management_action: 'merge',
    })
    await page.goto(merge.url)
    await page.getByRole('button', { name: 'Allow' }).waitFor()
    const changes = await page.getByRole('heading', { name: 'What changes' }).locator('..').innerText()
    expect(changes).toContain('Adds: 3 more months of history')
    expect((await page.getByRole('heading', { level: 1 }).innerText()).replace(/\s+/g, ' ')).toBe(
      'Beacon Lending is asking to change what it can see',
    )
    expect(await audit(page)).toEqual([])
    await page.screenshot({ path: `${SHOTS}/amend-2-merge.png`, fullPage: true })
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(/\/callback\?/)
    const merged = await exchange(r, merge, page.url())
    expect((merged.tokens as unknown as { grant_id: string }).grant_id).toBe(grantId)
    grant = (await holder.server.store.getGrant(grantId))!
    expect(grant.authorizationDetails[0]).toMatchObject({ period: { lookback_days: 120 } })

    // 3. The person narrows it on the dashboard: no more savings, no description, the last 3 months.
    await page.goto(`${holder.issuer}/consents/${grantId}`)
    expect(await page.locator('body').innerText()).toMatch(/expires in \d days?/)
    await page.getByRole('link', { name: 'Change what Beacon Lending can see' }).click()
    await page.getByRole('button', { name: 'Save changes' }).waitFor()
    expect(await audit(page)).toEqual([])
    await page.getByLabel('Rainy Day Savings').uncheck()
    await page.getByLabel('Description').uncheck()
    await page.getByLabel('Period').selectOption({ label: 'The last 3 months' })
    await page.screenshot({ path: `${SHOTS}/amend-3-change-form.png`, fullPage: true })
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByRole('status').waitFor()
    expect(await page.getByRole('status').innerText()).toContain('Changes saved')
    const history = await page.getByRole('heading', { name: 'History' }).locator('..').innerText()
    expect(history).toContain(
      'You narrowed access. Removes: the oldest month of history, Rainy Day Savings, Description',
    )
    await page.screenshot({ path: `${SHOTS}/amend-4-after-change.png`, fullPage: true })

    // Enforced on the next request, with the tokens issued before.
    const savings = await resourceGet(
      tokens.access_token,
      `${holder.issuer}/api/accounts/acc_alice_savings/transactions`,
      DPoP,
    )
    expect(savings.status).toBe(403)
    await page.close()
  })
})
