import { createRequire } from 'node:module'
import { memoryStore } from '@consentry/server'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { hasChromium, launchChromium } from './helpers/chromium.ts'
import { HISTORY_DETAIL, link, pushRequest, type Recipient, registerRecipient } from './helpers/recipient.ts'

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
let holder: HarborPay
let r: Recipient
let browser: Browser

/** Run axe-core (WCAG 2.1 A and AA rules) on the page; return the violations, summarized. */
async function audit(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE })
  const violations = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected as a global
    const result = await (window as any).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    })
    return result.violations.map(
      (v: { id: string; nodes: { target: string[] }[] }) =>
        `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    )
  })
  return violations
}

// CI installs Chromium (.ci/run); a machine without it cannot run these, and says so.
describe.skipIf(!hasChromium)('every page passes an automated WCAG 2.1 AA audit (axe-core)', () => {
  beforeAll(async () => {
    holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
    r = await registerRecipient(holder.issuer, { redirectUri: 'http://127.0.0.1:9/callback' })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await holder?.close()
  })

  it('login, consent, dashboard, grant detail, revoke confirmation, error page, at desktop and phone widths', async () => {
    // A grant with an access log, so the dashboard and detail pages are full.
    const { tokens } = await link(holder.issuer, r, [HISTORY_DETAIL])
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    for (const viewport of [
      { width: 1280, height: 900 },
      { width: 375, height: 800 },
    ]) {
      // axe is injected as a script: let this audit context ignore the pages' CSP (the pages themselves have none).
      const context = await browser.newContext({ viewport, bypassCSP: true })
      const page = await context.newPage()
      const findings: Record<string, string[]> = {}
      const pending = await pushRequest(r, [HISTORY_DETAIL])
      await page.goto(pending.url)
      findings.login = await audit(page)
      await page.getByLabel('Username').fill('alice')
      await page.getByLabel('Password').fill('wrong')
      await page.getByRole('button', { name: 'Sign in' }).click()
      findings['login with error'] = await audit(page)
      await page.getByLabel('Password').fill('alice')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('button', { name: 'Allow' }).waitFor()
      findings.consent = await audit(page)
      await page.goto(`${holder.issuer}/consents`)
      findings.dashboard = await audit(page)
      await page.goto(`${holder.issuer}/consents/${grantId}`)
      findings['grant detail'] = await audit(page)
      await page.goto(`${holder.issuer}/consents/${grantId}/revoke`)
      findings['revoke confirmation'] = await audit(page)
      await page.goto(`${holder.issuer}/authorize?client_id=x&request_uri=gone`)
      findings['error page'] = await audit(page)
      await context.close()
      expect(findings, `at ${viewport.width}px`).toEqual({
        login: [],
        'login with error': [],
        consent: [],
        dashboard: [],
        'grant detail': [],
        'revoke confirmation': [],
        'error page': [],
      })
    }
  })

  it('would notice a violation (control: an unlabelled input, no language, low contrast)', async () => {
    const page = await browser.newPage()
    await page.setContent('<html><body><p style="color:#bbb;background:#fff">faint</p><input></body></html>')
    const found = await audit(page)
    expect(found.some((v) => v.startsWith('label'))).toBe(true)
    expect(found.some((v) => v.startsWith('html-has-lang'))).toBe(true)
    expect(found.some((v) => v.startsWith('color-contrast'))).toBe(true)
    await page.close()
  })
})
