/**
 * Beacon Lending over real HTTP (no browser): the link flow through the real Harbor Pay forms, CSRF
 * and headers, restarts that keep the registration and the link, and re-registration when the holder
 * has forgotten the client.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FormBrowser, hiddenInput } from '../../../test/helpers/browser.ts'
import { consent } from '../../../test/helpers/recipient.ts'
import { type HarborPay, startHarborPay } from '../../payment-provider/src/app.ts'
import { type BeaconLending, startBeaconLending } from '../src/app.ts'

let holder: HarborPay
let dataDir: string
const lenders: BeaconLending[] = []

const startHolder = (port = 0) =>
  startHarborPay({ store: memoryStore(), port, publicHost: '127.0.0.1', maintenance: false })
async function startLender(port = 0) {
  const l = await startBeaconLending({ port, holderIssuer: holder.issuer, dataDir, log: () => {} })
  lenders.push(l)
  return l
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'beacon-lending-'))
  holder = await startHolder()
})
afterAll(async () => {
  for (const l of lenders) await l.close().catch(() => {})
  await holder?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/**
 * Landing page → one of its two buttons (with its CSRF token) → the holder's authorization URL.
 * `share` absent: the form without a choice (the reconnect buttons), which asks for monthly totals.
 */
async function clickConnect(lender: BeaconLending, browser: FormBrowser, share?: 'totals' | 'history') {
  const landing = await browser.request(`${lender.url}/`)
  const page = await landing.text()
  return browser.request(`${lender.url}/connect`, {
    form: { csrf: hiddenInput(page, 'csrf'), ...(share ? { share } : {}) },
  })
}

/** The whole link as alice: connect, sign in and allow at Harbor Pay, back to the callback. */
async function linkAlice(lender: BeaconLending, browser = new FormBrowser(), share?: 'totals' | 'history') {
  const started = await clickConnect(lender, browser, share)
  expect(started.status).toBe(303)
  const authorize = started.headers.get('location')!
  expect(authorize.startsWith(`${holder.issuer}/authorize?`)).toBe(true)
  const answer = await consent(holder.issuer, { url: authorize } as never, {}, browser)
  expect(answer.status).toBe(303)
  expect(answer.location!.startsWith(`${lender.url}/callback?`)).toBe(true)
  const back = await browser.request(answer.location!)
  expect(back.status).toBe(303)
  expect(back.headers.get('location')).toBe('/summary')
  return browser
}

describe('Beacon Lending', () => {
  it('serves the landing page with CSP, anti-framing, no inline script or style, and a CSRF-protected form', async () => {
    const lender = await startLender()
    const res = await fetch(`${lender.url}/`)
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy')!
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).toContain(`form-action 'self' ${new URL(holder.issuer).origin}`)
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    const html = await res.text()
    expect(html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i)
    expect(html).toMatch(/<input type="hidden" name="csrf" value="[^"]+">/)
    const css = await fetch(`${lender.url}/assets/beacon.css`)
    expect(css.headers.get('content-type')).toContain('text/css')
    // The registration is on disk, readable by its owner only.
    expect(statSync(join(dataDir, 'client.json')).mode & 0o077).toBe(0)
    const config = JSON.parse(await readFile(join(dataDir, 'client.json'), 'utf8'))
    expect(config.clientId).toBe(lender.clientId())
    expect(config.redirectUri).toBe(`${lender.url}/callback`)
    expect(config.webhookUri).toBe(`${lender.url}/webhooks/consentry`)
    await lender.close()
  })

  it('refuses form posts without the right CSRF token or from another site', async () => {
    const lender = await startLender()
    const browser = new FormBrowser()
    const page = await (await browser.request(`${lender.url}/`)).text()
    const csrf = hiddenInput(page, 'csrf')
    expect(
      (await browser.request(`${lender.url}/connect`, { method: 'POST', form: { other: '1' } })).status,
    ).toBe(403)
    expect((await browser.request(`${lender.url}/connect`, { form: { csrf: `${csrf}x` } })).status).toBe(403)
    // The token is bound to this browser's cookie: it does not work for another browser.
    expect((await new FormBrowser().request(`${lender.url}/connect`, { form: { csrf } })).status).toBe(403)
    const crossSite = await fetch(`${lender.url}/connect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
        cookie: `beacon_csrf=${csrf.split('.')[0]}`,
      },
      body: new URLSearchParams({ csrf }).toString(),
    })
    expect(crossSite.status).toBe(403)
    expect((await browser.request(`${lender.url}/connect`, { form: { csrf } })).status).toBe(303)
    await lender.close()
  })

  it('answers a callback it did not start with a friendly page and a code', async () => {
    const lender = await startLender()
    const res = await fetch(
      `${lender.url}/callback?code=abc&state=xyz&iss=${encodeURIComponent(holder.issuer)}`,
    )
    expect(res.status).toBe(400)
    const html = await res.text()
    expect(html).toContain('This connection attempt has expired')
    expect(html).toContain('no_pending_link')
    expect(html).not.toContain('abc')
    await lender.close()
  })

  it('links, shows the summary, and keeps registration, session and link across a restart', async () => {
    const first = await startLender()
    const port = first.port
    const clientId = first.clientId()
    const browser = await linkAlice(first)
    const summary = await browser.request(`${first.url}/summary`)
    expect(summary.status).toBe(200)
    const html = await summary.text()
    expect(html).toContain('Your affordability summary')
    // The default: Harbor Pay's signed monthly totals, no account names or transactions.
    expect(html).toContain('Monthly totals only')
    expect(html).toContain('Signed by Harbor Pay.')
    expect(html).toContain('2 accounts you chose')
    expect(html).not.toContain('Everyday Wallet')
    const links = JSON.parse(await readFile(join(dataDir, 'links.json'), 'utf8'))
    expect(Object.keys(links)).toHaveLength(1)
    expect(statSync(join(dataDir, 'links.json')).mode & 0o077).toBe(0)
    await first.close()

    const again = await startLender(port)
    expect(again.clientId()).toBe(clientId) // not registered again
    const after = await browser.request(`${again.url}/summary`)
    expect(after.status).toBe(200)
    expect(await after.text()).toContain('Your affordability summary')

    // Disconnect: the grant ends at the holder and the link is gone.
    const form = hiddenInput(await (await browser.request(`${again.url}/summary`)).text(), 'csrf')
    const done = await browser.request(`${again.url}/disconnect`, { form: { csrf: form } })
    expect(done.status).toBe(303)
    expect(done.headers.get('location')).toBe('/disconnected')
    expect(JSON.parse(await readFile(join(dataDir, 'links.json'), 'utf8'))).toEqual({})
    const grants = await holder.server.audit.list({ types: ['grant.revoked'] })
    expect(grants.length).toBeGreaterThanOrEqual(1)
    await again.close()
  })

  it('asks for monthly totals by default and for the full history only when the person chooses it', async () => {
    const lender = await startLender()
    const landing = await (await fetch(`${lender.url}/`)).text()
    expect(landing).toContain('Share monthly totals only — recommended')
    expect(landing).toContain('Share full transaction history')
    /** The detail type of the grant the person's last link made at Harbor Pay. */
    const grantedType = async () => {
      const grants = await holder.server.store.listGrants({ clientId: lender.clientId() })
      const newest = grants.sort((a, b) => b.createdAt - a.createdAt)[0]!
      return newest.authorizationDetails.map((d) => d.type)
    }

    const history = await linkAlice(lender, new FormBrowser(), 'history')
    expect(await grantedType()).toEqual(['transaction_history'])
    const html = await (await history.request(`${lender.url}/summary`)).text()
    expect(html).toContain('Full transaction history')
    expect(html).toContain('Everyday Wallet')
    expect(html).toMatch(/From [\d,]+ transactions Harbor Pay shared/)
    expect(html).not.toContain('Signed by Harbor Pay')

    const totals = await linkAlice(lender, new FormBrowser(), 'totals')
    expect(await grantedType()).toEqual(['affordability_summary'])
    const page = await (await totals.request(`${lender.url}/summary`)).text()
    expect(page).toContain('Monthly totals only')
    expect(page).toContain('Signed by Harbor Pay.')
    await lender.close()
  })

  it('registers again when the holder no longer knows the client (holder data wiped)', async () => {
    const lender = await startLender()
    const before = lender.clientId()
    // Harbor Pay restarts on the same address with empty storage.
    const port = holder.port
    await holder.close()
    holder = await startHolder(port)
    const started = await clickConnect(lender, new FormBrowser())
    expect(started.status).toBe(303)
    expect(started.headers.get('location')!.startsWith(`${holder.issuer}/authorize?`)).toBe(true)
    expect(lender.clientId()).not.toBe(before)
    expect(await holder.server.store.getClient(lender.clientId())).not.toBeNull()
    await lender.close()
  })
})
