/**
 * Changing a grant over real HTTP, driven by oauth4webapi through the real forms: Grant Management
 * `merge` and `replace` approved (or declined) by the person, the person narrowing on the dashboard
 * while the recipient is mid-listing, renewal, and `grant-expiring` reminders through the outbox.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Grant, sha256Hex, verifyAuditBundle } from '@consentry/core'
import { GRANT_AMENDED_EVENT, GRANT_EXPIRING_EVENT, memoryStore } from '@consentry/server'
import { createLocalJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BazaarMarket, startBazaarMarket } from '../examples/marketplace/src/app.ts'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { main as cli } from '../packages/cli/src/index.ts'
import { FormBrowser, formAction, hiddenInput } from './helpers/browser.ts'
import {
  browserFor,
  consent,
  exchange,
  HISTORY_DETAIL,
  insecure,
  link,
  oauth,
  type PendingLink,
  pushRequest,
  type Recipient,
  registerRecipient,
  resourceGet,
} from './helpers/recipient.ts'

const WALLET = 'acc_alice_wallet'
const SAVINGS = 'acc_alice_savings'
const DAY = 86_400_000

/** A recipient's webhook endpoint over real HTTP: every SET it receives. */
let hook: Server
let received: string[] = []
let hookUrl: string

let holder: HarborPay
let r: Recipient

/** Poll a condition (bounded by attempts, not by how fast the machine is). */
async function until<T>(check: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((res) => setTimeout(res, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const grantIdOf = (tokens: unknown) => (tokens as { grant_id: string }).grant_id
const receiptOf = (tokens: unknown) => (tokens as { consent_receipt: string }).consent_receipt
const { expires_in: _e, max_reads_per_day: _m, ...WITHOUT_LIFETIME } = HISTORY_DETAIL
const today = (now = Date.now()) => new Date(now).toISOString().slice(0, 10)
const daysAgo = (n: number, now = Date.now()) => today(now - n * DAY)

/** Push a Grant Management request for `grantId`. */
const amendPush = (rp: Recipient, grantId: string, action: string, details: unknown[]) =>
  pushRequest(rp, details, { grant_id: grantId, grant_management_action: action })

/** The OAuth error a pushed request gets. */
async function parError(rp: Recipient, details: unknown[], extra: Record<string, string>) {
  try {
    await pushRequest(rp, details, extra)
  } catch (e) {
    if (e instanceof oauth.ResponseBodyError) return e.error
    throw e
  }
  return 'none'
}

/** The verified payloads of the SETs received for `clientId` carrying `uri`. */
async function eventsFor(h: HarborPay, clientId: string, uri: string) {
  const jwks = createLocalJWKSet(h.server.jwks() as never)
  const out: Array<Record<string, unknown>> = []
  for (const set of received) {
    const { payload } = await jwtVerify(set, jwks, {
      issuer: h.issuer,
      typ: 'secevent+jwt',
      currentDate: new Date(decodeJwt(set).iat! * 1000),
    }).catch(() => ({ payload: null as JWTPayload | null }))
    if (!payload || payload.aud !== clientId) continue
    const body = (payload.events as Record<string, Record<string, unknown>>)[uri]
    if (body) out.push(body)
  }
  return out
}

/** Verify a consent receipt with the holder's keys. */
async function verifyReceipt(h: HarborPay, jws: string, at = Date.now()) {
  const { payload, protectedHeader } = await jwtVerify(jws, createLocalJWKSet(h.server.jwks() as never), {
    issuer: h.issuer,
    currentDate: new Date(at),
  })
  expect(protectedHeader.typ).toBe('consent-receipt+jwt')
  return payload as JWTPayload & Record<string, unknown>
}

/** The person's dashboard page of a grant (signed in as alice, again if the session ended). */
async function grantPage(h: HarborPay, grantId: string, browser = browserFor(h.issuer)) {
  let { res, url } = await browser.follow(`${h.issuer}/consents/${grantId}`, h.issuer)
  if (url.includes('/login')) {
    const page = await res.text()
    ;({ res } = await browser.follow(formAction(page, url), h.issuer, {
      form: { csrf: hiddenInput(page, 'csrf'), username: 'alice', password: 'alice' },
    }))
  }
  expect(res.status).toBe(200)
  return res.text()
}

/** The page's text without tags (what the person reads). */
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => {
      body += d
    })
    req.on('end', () => {
      if (req.headers['content-type'] === 'application/secevent+jwt') received.push(body)
      res.writeHead(202).end()
    })
  })
  await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', ok))
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/events`
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
    overrides: { webhookRetryDelaysMs: [20, 20, 20] },
  })
  r = await registerRecipient(holder.issuer, { webhookUri: hookUrl })
})
afterAll(async () => {
  await holder?.close()
  hook?.close()
})

describe('Grant Management at the pushed authorization request', () => {
  it('announces merge and replace beside query and revoke', () => {
    expect(r.as.grant_management_actions_supported).toEqual(['query', 'revoke', 'merge', 'replace'])
  })

  it('takes grant_id with merge or replace, for the owning client and an active grant only', async () => {
    const { tokens } = await link(holder.issuer, r)
    const grantId = grantIdOf(tokens)
    expect(await parError(r, [HISTORY_DETAIL], { grant_id: grantId })).toBe('invalid_request')
    expect(await parError(r, [HISTORY_DETAIL], { grant_management_action: 'merge' })).toBe('invalid_request')
    expect(
      await parError(r, [HISTORY_DETAIL], { grant_id: grantId, grant_management_action: 'create' }),
    ).toBe('invalid_request')
    expect(
      await parError(r, [HISTORY_DETAIL], { grant_id: 'gr_unknown', grant_management_action: 'merge' }),
    ).toBe('invalid_grant_id')
    // A merge never changes the purpose: that is a replace.
    expect(
      await parError(r, [{ ...HISTORY_DETAIL, purpose: 'account_verification' }], {
        grant_id: grantId,
        grant_management_action: 'merge',
      }),
    ).toBe('invalid_authorization_details')
    // Another client cannot name this grant, whatever it asks.
    const other = await registerRecipient(holder.issuer, { name: 'Other Lender' })
    expect(
      await parError(other, [HISTORY_DETAIL], { grant_id: grantId, grant_management_action: 'replace' }),
    ).toBe('invalid_grant_id')
    // Nor the owner once it has ended.
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(r.as, r.client, r.auth, tokens.refresh_token!, insecure),
    )
    expect(await parError(r, [HISTORY_DETAIL], { grant_id: grantId, grant_management_action: 'merge' })).toBe(
      'invalid_grant_id',
    )
  })
})

describe('recipient-initiated change, approved on the consent page', () => {
  let grantId: string
  let first: Awaited<ReturnType<typeof link>>
  let granted: Grant

  it('merge: the page shows what it adds; Allow applies it to the same grant, old tokens included', async () => {
    received = []
    first = await link(holder.issuer, r, [HISTORY_DETAIL], { accounts: [WALLET] })
    grantId = grantIdOf(first.tokens)
    const before = (await holder.server.store.getGrant(grantId))!
    const pending = await amendPush(r, grantId, 'merge', [
      { ...WITHOUT_LIFETIME, accounts: [SAVINGS], period: { lookback_days: 180 } },
    ])
    const answer = await consent(holder.issuer, pending)
    const page = text(answer.page)
    expect(page).toContain('Beacon Lending is asking to change what it can see')
    expect(page).toContain('Adds: 3 more months of history, Rainy Day Savings')
    expect(page).not.toContain('Removes:')
    expect(answer.status).toBe(303)
    const { tokens } = await exchange(r, pending, answer.location!)
    // The token response carries the same grant_id, and the merged details.
    expect(grantIdOf(tokens)).toBe(grantId)
    const detail = (tokens.authorization_details as Array<Record<string, unknown>>)[0]!
    expect(detail.accounts).toEqual([WALLET, SAVINGS])
    expect(detail.period).toEqual({ lookback_days: 180 })
    granted = (await holder.server.store.getGrant(grantId))!
    expect(granted).toMatchObject({ id: grantId, status: 'active', createdAt: before.createdAt })
    // A later end only when asked: this merge did not ask.
    expect(granted.expiresAt).toBe(before.expiresAt)
    expect(granted.updatedAt).toBeGreaterThan(before.updatedAt)
    expect(
      (await holder.server.store.listGrants({ clientId: r.client.client_id }))
        .filter((g) => g.status === 'active')
        .map((g) => g.id),
    ).toContain(grantId)

    // The token issued before the change reads within the new details: both accounts now.
    const accounts = await resourceGet(first.tokens.access_token, `${holder.issuer}/api/accounts`, first.DPoP)
    expect(accounts.status).toBe(200)
    expect(((await accounts.json()).data as Array<{ id: string }>).map((a) => a.id).sort()).toEqual([
      SAVINGS,
      WALLET,
    ])

    // The trail: grant.amended with before and after, then the new receipt.
    const [amended] = await holder.server.audit.list({ grantId, types: ['grant.amended'] })
    expect(amended).toMatchObject({
      actor: { type: 'subject', id: 'alice' },
      data: {
        action: 'merge',
        by: 'client',
        before: before.authorizationDetails,
        after: granted.authorizationDetails,
      },
    })
    const issued = await holder.server.audit.list({ grantId, types: ['receipt.issued'] })
    expect(issued.length).toBeGreaterThanOrEqual(2)

    // The recipient is told, with the new receipt naming the one it supersedes.
    const [event] = await until(async () => {
      const e = await eventsFor(holder, r.client.client_id, GRANT_AMENDED_EVENT)
      return e.length ? e : undefined
    }, 'the grant-amended event')
    expect(event).toMatchObject({
      grant_id: grantId,
      action: 'merge',
      by: 'client',
      authorization_details: granted.authorizationDetails,
      expires_at: new Date(granted.expiresAt).toISOString(),
    })
    const receipt = await verifyReceipt(holder, event!.consent_receipt as string)
    expect(receipt).toMatchObject({
      grant_id: grantId,
      jti: `rcpt_${grantId}_${granted.updatedAt}`,
      amendment: { action: 'merge', by: 'client', previous_receipt: `rcpt_${grantId}_${before.updatedAt}` },
      authorization_details: granted.authorizationDetails,
    })
    expect(issued.map((e) => e.data.digest)).toContain(await sha256Hex(event!.consent_receipt as string))
    // Every receipt of this version says the same about it: the token response's, the person's download.
    const download = await browserFor(holder.issuer).request(`${holder.issuer}/consents/${grantId}/receipt`)
    for (const jws of [receiptOf(tokens), await download.text()])
      expect(await verifyReceipt(holder, jws)).toMatchObject({
        jti: receipt.jti,
        amendment: receipt.amendment,
        authorization_details: granted.authorizationDetails,
      })

    // The dashboard's history tells it.
    expect(text(await grantPage(holder, grantId))).toContain(
      'You approved more access the app asked for. Adds: 3 more months of history, Rainy Day Savings',
    )
  })

  it('replace: the page shows what it removes; reads are cut to the new details at once', async () => {
    const pending = await amendPush(r, grantId, 'replace', [
      {
        ...HISTORY_DETAIL,
        accounts: [WALLET],
        fields: ['booked_at', 'amount', 'currency', 'category'],
        period: { lookback_days: 30 },
      },
    ])
    const answer = await consent(holder.issuer, pending)
    expect(text(answer.page)).toContain(
      'Removes: the oldest 5 months of history, Rainy Day Savings, Description',
    )
    const { tokens } = await exchange(r, pending, answer.location!)
    expect(grantIdOf(tokens)).toBe(grantId)
    const after = (await holder.server.store.getGrant(grantId))!
    expect(after.authorizationDetails[0]).toMatchObject({ accounts: [WALLET], period: { lookback_days: 30 } })

    // The first token still works, but only within the replaced details.
    const savings = await resourceGet(
      first.tokens.access_token,
      `${holder.issuer}/api/accounts/${SAVINGS}/transactions`,
      first.DPoP,
    )
    expect(savings.status).toBe(403)
    expect((await savings.json()).code).toBe('outside_consent')
    const wallet = await resourceGet(
      first.tokens.access_token,
      `${holder.issuer}/api/accounts/${WALLET}/transactions`,
      first.DPoP,
    )
    expect(wallet.status).toBe(200)
    const page = (await wallet.json()) as { data: Array<Record<string, unknown>>; period: { from: string } }
    expect(page.period.from).toBe(daysAgo(29))
    expect(page.data.length).toBeGreaterThan(0)
    expect(page.data.every((t) => !('description' in t))).toBe(true)
    const [, replaced] = await holder.server.audit.list({ grantId, types: ['grant.amended'] })
    expect(replaced?.data).toMatchObject({ action: 'replace', by: 'client' })
  })

  it('Deny sends access_denied and leaves the grant exactly as it was', async () => {
    const before = await holder.server.store.getGrant(grantId)
    const amendedBefore = await holder.server.audit.list({ grantId, types: ['grant.amended'] })
    const pending = await amendPush(r, grantId, 'replace', [
      { ...HISTORY_DETAIL, period: { lookback_days: 365 } },
    ])
    const answer = await consent(holder.issuer, pending, { decision: 'deny' })
    expect(answer.status).toBe(303)
    const back = new URL(answer.location!)
    expect(back.searchParams.get('error')).toBe('access_denied')
    expect(back.searchParams.get('state')).toBe(pending.state)
    expect(back.searchParams.get('iss')).toBe(holder.issuer)
    expect(back.searchParams.has('code')).toBe(false)
    expect(await holder.server.store.getGrant(grantId)).toEqual(before)
    expect(await holder.server.audit.list({ grantId, types: ['grant.amended'] })).toEqual(amendedBefore)
    expect(await holder.server.audit.list({ grantId, types: ['grant.amendment_denied'] })).toHaveLength(1)
    expect(text(await grantPage(holder, grantId))).toContain('You declined a change the app asked for')
  })

  it('only the grant’s own account holder sees and answers the change', async () => {
    const pending = await amendPush(r, grantId, 'merge', [{ ...WITHOUT_LIFETIME, accounts: [SAVINGS] }])
    const bob = new FormBrowser()
    let { res, url } = await bob.follow(pending.url, holder.issuer)
    const login = await res.text()
    ;({ res, url } = await bob.follow(formAction(login, url), holder.issuer, {
      form: { csrf: hiddenInput(login, 'csrf'), username: 'bob', password: 'bob' },
    }))
    expect(res.status).toBe(403)
    const page = text(await res.text())
    expect(page).toContain('Signed in as someone else')
    expect(page).not.toContain('Rainy Day Savings')
  })

  it('a change shown against one version of the grant is not applied to another', async () => {
    const pending = await amendPush(r, grantId, 'merge', [{ ...WITHOUT_LIFETIME, accounts: [SAVINGS] }])
    const browser = browserFor(holder.issuer)
    const { res } = await browser.follow(pending.url, holder.issuer)
    const html = await res.text()
    // Meanwhile the grant changes (the person narrows it in another tab).
    await narrowOnDashboard(holder, grantId, browser, { fields: ['booked_at', 'amount', 'currency'] })
    const answer = await browser.request(
      new URL(/<form[^>]*action="([^"]*)"/.exec(html)![1]!, holder.issuer).href,
      {
        form: {
          csrf: hiddenInput(html, 'csrf'),
          grant_version: hiddenInput(html, 'grant_version'),
          decision: 'allow',
          account: [WALLET, SAVINGS],
          field: ['booked_at', 'amount', 'currency', 'category'],
          datatype: 'balances',
        },
      },
    )
    expect(answer.status).toBe(400)
    expect(text(await answer.text())).toContain('changed while you were deciding')
    expect((await holder.server.store.getGrant(grantId))!.authorizationDetails[0]).toMatchObject({
      accounts: [WALLET],
      fields: ['booked_at', 'amount', 'currency'],
    })
  })
})

/** Submit the dashboard's change form: what to keep (defaults: everything as now). */
async function narrowOnDashboard(
  h: HarborPay,
  grantId: string,
  browser: FormBrowser,
  keep: {
    accounts?: string[]
    fields?: string[]
    period?: string
    expires?: string
    reads?: string
    balances?: boolean
  } = {},
) {
  const form = await browser.request(`${h.issuer}/consents/${grantId}/change`)
  expect(form.status).toBe(200)
  const html = await form.text()
  const all = (name: string) =>
    [...html.matchAll(new RegExp(`name="${name}"[^>]*value="([^"]+)"`, 'g'))].map((m) => m[1]!)
  const body: Record<string, string | string[]> = {
    csrf: hiddenInput(html, 'csrf'),
    grant_version: hiddenInput(html, 'grant_version'),
    account: keep.accounts ?? all('account'),
    field: keep.fields ?? all('field'),
    ...(keep.period ? { period: keep.period } : {}),
    ...(keep.expires ? { expires: keep.expires } : {}),
    ...(keep.reads ? { max_reads_per_day: keep.reads } : {}),
  }
  if (keep.balances !== false && html.includes('value="balances"')) body.datatype = 'balances'
  const res = await browser.request(`${h.issuer}/consents/${grantId}/change`, { form: body })
  return { res, html }
}

describe('person-initiated change on the dashboard', () => {
  it('narrows at once while the recipient is mid-listing: the next page is refused where it left the consent', async () => {
    received = []
    const detail = { ...HISTORY_DETAIL, period: { lookback_days: 180 } }
    const { tokens, DPoP } = await link(holder.issuer, r, [detail])
    const grantId = grantIdOf(tokens)
    const before = (await holder.server.store.getGrant(grantId))!
    const get = (path: string) => resourceGet(tokens.access_token, `${holder.issuer}/api${path}`, DPoP)
    const cursorOf = async (path: string) => {
      const res = await get(path)
      expect(res.status).toBe(200)
      const body = (await res.json()) as { next_cursor?: string }
      expect(body.next_cursor).toBeTypeOf('string')
      return body.next_cursor!
    }
    // Three listings in progress: an account about to leave, and two windows about to leave the period.
    const savings = await cursorOf(`/accounts/${SAVINGS}/transactions?limit=1`)
    // A window across the coming period start, its first page ending just before that start.
    const recent = await get(
      `/accounts/${WALLET}/transactions?from=${daysAgo(89)}&to=${daysAgo(80)}&limit=500`,
    )
    const inside = ((await recent.json()) as { data: unknown[] }).data.length
    const straddling = await cursorOf(
      `/accounts/${WALLET}/transactions?from=${daysAgo(120)}&to=${daysAgo(80)}&limit=${inside + 1}`,
    )
    const old = await cursorOf(
      `/accounts/${WALLET}/transactions?from=${daysAgo(160)}&to=${daysAgo(121)}&limit=1`,
    )

    // The person opens the grant: a link to change it, the same controls as the consent page.
    const browser = browserFor(holder.issuer)
    const detailPage = await grantPage(holder, grantId, browser)
    expect(text(detailPage)).toContain('Change what Beacon Lending can see')
    const { res, html } = await narrowOnDashboard(holder, grantId, browser, {
      accounts: [WALLET],
      fields: ['booked_at', 'amount', 'currency', 'category'],
      period: 'lookback:90',
      reads: '2',
    })
    const formText = text(html)
    for (const label of [
      'Everyday Wallet',
      'Rainy Day Savings',
      'Description',
      'Amount',
      'Balances',
      'Save changes',
    ])
      expect(formText).toContain(label)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toContain('changed=1')

    // The next page of each listing is refused where it left the consent.
    for (const [path, cursor] of [
      [`/accounts/${SAVINGS}/transactions`, savings],
      [`/accounts/${WALLET}/transactions`, straddling],
      [`/accounts/${WALLET}/transactions`, old],
    ] as const) {
      const next = await get(`${path}?cursor=${encodeURIComponent(cursor)}`)
      expect(next.status).toBe(403)
      expect((await next.json()).code).toBe('outside_consent')
    }
    // Fewer reads a day, from the next request: four listings were made, two are allowed now.
    const refused = await get(`/accounts/${WALLET}/transactions`)
    expect(refused.status).toBe(429)
    expect((await refused.json()).code).toBe('read_limit_exceeded')
    // With the person present, a new listing gets what is left: the last 90 days, no description.
    const fresh = await resourceGet(
      tokens.access_token,
      `${holder.issuer}/api/accounts/${WALLET}/transactions`,
      DPoP,
      { 'x-fapi-customer-ip-address': '198.51.100.7' },
    )
    expect(fresh.status).toBe(200)
    const page = (await fresh.json()) as { data: Array<Record<string, unknown>>; period: { from: string } }
    expect(page.period.from).toBe(daysAgo(89))
    expect(page.data.every((t) => !('description' in t))).toBe(true)

    const after = (await holder.server.store.getGrant(grantId))!
    expect(after.authorizationDetails[0]).toMatchObject({
      accounts: [WALLET],
      fields: ['booked_at', 'amount', 'currency', 'category'],
      period: { lookback_days: 90 },
      max_reads_per_day: 2,
    })
    const [amended] = await holder.server.audit.list({ grantId, types: ['grant.amended'] })
    expect(amended).toMatchObject({
      actor: { type: 'subject', id: 'alice' },
      data: {
        action: 'narrow',
        by: 'subject',
        before: before.authorizationDetails,
        after: after.authorizationDetails,
      },
    })
    const [event] = await until(async () => {
      const e = await eventsFor(holder, r.client.client_id, GRANT_AMENDED_EVENT)
      return e.length ? e : undefined
    }, 'the grant-amended event')
    expect(event).toMatchObject({ grant_id: grantId, action: 'narrow', by: 'subject' })
    expect(text(await grantPage(holder, grantId, browser))).toContain(
      'You narrowed access. Removes: the oldest 3 months of history, Rainy Day Savings, Description, 2 of the 4 checks a day without you',
    )
  })

  it('introspection describes a token issued before the change by the narrowed details, at once', async () => {
    const { tokens } = await link(holder.issuer, r, [HISTORY_DETAIL], { accounts: [WALLET, SAVINGS] })
    const grantId = grantIdOf(tokens)
    const introspect = async () =>
      oauth.processIntrospectionResponse(
        r.as,
        r.client,
        await oauth.introspectionRequest(r.as, r.client, r.auth, tokens.access_token, insecure),
      )
    const accountsOf = (intro: Record<string, unknown>) =>
      (intro.authorization_details as { accounts: string[] }[])[0]!.accounts
    expect(accountsOf(await introspect())).toEqual([WALLET, SAVINGS])
    const browser = browserFor(holder.issuer)
    await grantPage(holder, grantId, browser)
    const { res } = await narrowOnDashboard(holder, grantId, browser, { accounts: [WALLET] })
    expect(res.status).toBe(303)
    const after = await introspect()
    expect(after).toMatchObject({ active: true, grant_id: grantId })
    expect(accountsOf(after)).toEqual([WALLET])
    expect(after.authorization_details).toEqual(
      (await holder.server.store.getGrant(grantId))!.authorizationDetails,
    )
  })

  it('never widens: what was not granted cannot be ticked back in', async () => {
    const { tokens } = await link(holder.issuer, r, [HISTORY_DETAIL], { accounts: [WALLET] })
    const grantId = grantIdOf(tokens)
    const before = await holder.server.store.getGrant(grantId)
    const browser = browserFor(holder.issuer)
    for (const keep of [
      { accounts: [WALLET, SAVINGS] },
      { fields: ['booked_at', 'counterparty'] },
      { period: 'lookback:180' },
      { reads: '40' },
      { expires: 'days:400' },
    ]) {
      const { res } = await narrowOnDashboard(holder, grantId, browser, keep)
      expect(res.status).toBe(400)
    }
    expect(await holder.server.store.getGrant(grantId)).toEqual(before)
    // Another person cannot even see the form.
    const bob = new FormBrowser()
    const login = await bob.follow(`${holder.issuer}/consents/${grantId}/change`, holder.issuer)
    const loginPage = await login.res.text()
    const signedIn = await bob.follow(
      /<form[^>]*action="([^"]*)"/
        .exec(loginPage)![1]!
        .replace(/&amp;/g, '&')
        .replace(/^\//, `${holder.issuer}/`),
      holder.issuer,
      {
        form: { csrf: hiddenInput(loginPage, 'csrf'), username: 'bob', password: 'bob' },
      },
    )
    expect(signedIn.res.status).toBe(404)
  })
})

describe('narrowing on the consent page', () => {
  it('a first consent may choose a shorter period and an earlier end', async () => {
    const pending: PendingLink = await pushRequest(r, [{ ...HISTORY_DETAIL, period: { lookback_days: 180 } }])
    const answer = await consent(holder.issuer, pending, { period: 'lookback:30', expires: 'days:7' })
    expect(answer.page).toMatch(/<label for="period">Period<\/label>/)
    expect(answer.page).toMatch(/<label for="expires">Access until<\/label>/)
    const { tokens } = await exchange(r, pending, answer.location!)
    const grant = (await holder.server.store.getGrant(grantIdOf(tokens)))!
    expect(grant.authorizationDetails[0]).toMatchObject({
      period: { lookback_days: 30 },
      expires_in: 7 * 86400,
    })
    expect(Math.abs(grant.expiresAt - (Date.now() + 7 * DAY))).toBeLessThan(60_000)
    // Nothing wider than asked is accepted.
    const again = await pushRequest(r, [HISTORY_DETAIL])
    const widened = await consent(holder.issuer, again, { period: 'lookback:365' })
    expect(widened.status).toBe(400)
  })
})

describe('expiry reminders and renewal', () => {
  let h: HarborPay
  let rp: Recipient
  let offset = 0
  const clock = () => Date.now() + offset
  const advance = (ms: number) => {
    offset += ms
    rp.client[oauth.clockSkew] = Math.round(offset / 1000)
  }

  beforeAll(async () => {
    h = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      // Renewals may last up to 60 days from the renewal (the default rule counts from it).
      overrides: { now: clock, webhookRetryDelaysMs: [20, 20, 20], lifetimes: { maxGrant: 60 * 86400 } },
    })
    rp = await registerRecipient(h.issuer, { webhookUri: hookUrl })
  })
  afterAll(async () => h?.close())

  it('reminds once per expiry through the outbox, shows "expires in N days", and renews on approval', async () => {
    received = []
    const { tokens } = await link(h.issuer, rp, [{ ...HISTORY_DETAIL, expires_in: 10 * 86400 }])
    const grantId = grantIdOf(tokens)
    const grant = (await h.server.store.getGrant(grantId))!
    await h.server.maintain()
    expect(await eventsFor(h, rp.client.client_id, GRANT_EXPIRING_EVENT)).toEqual([])

    advance(4 * DAY) // 6 days left: inside the default 7-day window
    await h.server.maintain()
    const [reminder] = await until(async () => {
      const e = await eventsFor(h, rp.client.client_id, GRANT_EXPIRING_EVENT)
      return e.length ? e : undefined
    }, 'the grant-expiring event')
    expect(reminder).toEqual({ grant_id: grantId, expires_at: new Date(grant.expiresAt).toISOString() })
    await until(async () => {
      const d = await h.server.audit.list({ grantId, types: ['webhook.delivered'] })
      return d.some((e) => e.data.event === 'grant-expiring') ? true : undefined
    }, 'the delivery to be audited')
    await h.server.maintain()
    await h.server.maintain()
    expect(await eventsFor(h, rp.client.client_id, GRANT_EXPIRING_EVENT)).toHaveLength(1)
    expect(text(await grantPage(h, grantId))).toContain('expires in 6 days')

    // Renewal: a replace with a new expires_in, approved by the person; capped from the renewal.
    const details = (await h.server.store.getGrant(grantId))!.authorizationDetails
    const pending = await amendPush(
      rp,
      grantId,
      'replace',
      details.map((d) => ({ ...d, expires_in: 90 * 86400 })),
    )
    const answer = await consent(h.issuer, pending)
    expect(text(answer.page)).toMatch(/Adds: access until \d+ \w+ \d{4} \(instead of \d+ \w+ \d{4}\)/)
    const renewed = await exchange(rp, pending, answer.location!)
    expect(grantIdOf(renewed.tokens)).toBe(grantId)
    const after = (await h.server.store.getGrant(grantId))!
    expect(Math.abs(after.expiresAt - (clock() + 60 * DAY))).toBeLessThan(60_000)
    expect(after.createdAt).toBe(grant.createdAt)
    const receipt = await verifyReceipt(h, receiptOf(renewed.tokens), clock())
    expect(receipt.expires_at).toBe(new Date(after.expiresAt).toISOString())

    // The new expiry is reminded again in its own time, once.
    await h.server.maintain()
    expect(await eventsFor(h, rp.client.client_id, GRANT_EXPIRING_EVENT)).toHaveLength(1)
    advance(55 * DAY)
    await h.server.maintain()
    const reminders = await until(async () => {
      const e = await eventsFor(h, rp.client.client_id, GRANT_EXPIRING_EVENT)
      return e.length === 2 ? e : undefined
    }, 'the second grant-expiring event')
    expect(reminders[1]).toEqual({ grant_id: grantId, expires_at: new Date(after.expiresAt).toISOString() })
  })

  it("with lifetimeCapFrom 'grant', a renewal never outlives the cap from the first consent", async () => {
    const capped = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { now: clock, lifetimeCapFrom: 'grant', lifetimes: { maxGrant: 30 * 86400 } },
    })
    try {
      const rc = await registerRecipient(capped.issuer)
      rc.client[oauth.clockSkew] = Math.round(offset / 1000)
      const { tokens } = await link(capped.issuer, rc, [{ ...HISTORY_DETAIL, expires_in: 10 * 86400 }])
      const grantId = grantIdOf(tokens)
      const created = (await capped.server.store.getGrant(grantId))!.createdAt
      offset += 5 * DAY
      rc.client[oauth.clockSkew] = Math.round(offset / 1000)
      const details = (await capped.server.store.getGrant(grantId))!.authorizationDetails
      const pending = await amendPush(
        rc,
        grantId,
        'replace',
        details.map((d) => ({ ...d, expires_in: 90 * 86400 })),
      )
      const answer = await consent(capped.issuer, pending)
      await exchange(rc, pending, answer.location!)
      expect((await capped.server.store.getGrant(grantId))!.expiresAt).toBe(created + 30 * DAY)
    } finally {
      await capped.close()
    }
  })
})

describe('the trail of a grant amended three times', () => {
  it('verifies offline, and its receipt chain tells the story: approved, merged, replaced, narrowed', async () => {
    received = []
    const { tokens } = await link(holder.issuer, r, [HISTORY_DETAIL], { accounts: [WALLET] })
    const grantId = grantIdOf(tokens)
    const receipts = [receiptOf(tokens)]
    const nextReceipt = async (n: number) => {
      const events = await until(async () => {
        const e = (await eventsFor(holder, r.client.client_id, GRANT_AMENDED_EVENT)).filter(
          (x) => x.grant_id === grantId,
        )
        return e.length >= n ? e : undefined
      }, `amendment ${n}`)
      receipts.push(events[n - 1]!.consent_receipt as string)
    }
    // 1. merge: the savings account too.
    const merge = await amendPush(r, grantId, 'merge', [{ ...WITHOUT_LIFETIME, accounts: [SAVINGS] }])
    await exchange(r, merge, (await consent(holder.issuer, merge)).location!)
    await nextReceipt(1)
    // 2. replace: a shorter period, no description.
    const replace = await amendPush(r, grantId, 'replace', [
      {
        ...HISTORY_DETAIL,
        accounts: [WALLET, SAVINGS],
        fields: ['booked_at', 'amount', 'currency'],
        period: { lookback_days: 30 },
      },
    ])
    await exchange(r, replace, (await consent(holder.issuer, replace)).location!)
    await nextReceipt(2)
    // 3. the person narrows: no savings any more.
    const { res } = await narrowOnDashboard(holder, grantId, browserFor(holder.issuer), {
      accounts: [WALLET],
    })
    expect(res.status).toBe(303)
    await nextReceipt(3)

    // The receipt chain: each amendment's receipt names the one it supersedes, and says what changed.
    const payloads = await Promise.all(receipts.map((jws) => verifyReceipt(holder, jws)))
    expect(
      payloads.map((p) => (p.amendment as { action?: string } | undefined)?.action ?? 'approved'),
    ).toEqual(['approved', 'merge', 'replace', 'narrow'])
    for (let i = 1; i < payloads.length; i++)
      expect((payloads[i]!.amendment as { previous_receipt: string }).previous_receipt).toBe(
        payloads[i - 1]!.jti,
      )
    expect(new Set(payloads.map((p) => p.grant_id))).toEqual(new Set([grantId]))
    const story = payloads.map((p) => {
      const d = (p.authorization_details as Array<Record<string, unknown>>)[0]!
      return [
        d.accounts,
        (d.period as { lookback_days: number }).lookback_days,
        (d.fields as string[]).length,
      ]
    })
    expect(story).toEqual([
      [[WALLET], 90, 5],
      [[WALLET, SAVINGS], 90, 5],
      [[WALLET, SAVINGS], 30, 3],
      [[WALLET], 30, 3],
    ])

    // Offline: the whole log exported, and the person's own access log, verified by the CLI with only
    // the log's verifier key; the grant's events tell the same story, before → after, link by link.
    await holder.server.audit.flush()
    const key = (r.as as unknown as { audit_log: { verifier_key: string } }).audit_log.verifier_key
    const dir = await mkdtemp(join(tmpdir(), 'consentry-amend-'))
    try {
      const lines: string[] = []
      for await (const line of holder.server.audit.export()) lines.push(line)
      await writeFile(join(dir, 'audit.jsonl'), `${lines.join('\n')}\n`)
      const bundleRes = await browserFor(holder.issuer).request(
        `${holder.issuer}/consents/${grantId}/access-log`,
      )
      expect(bundleRes.status).toBe(200)
      const bundle = await bundleRes.text()
      await writeFile(join(dir, 'access-log.json'), bundle)
      const run = async (...argv: string[]) => {
        let out = ''
        const write = (t: string) => {
          out += t
        }
        const code = await cli(argv, { stdout: write, stderr: write })
        return { code, out }
      }
      expect((await run('audit', 'verify', join(dir, 'audit.jsonl'), '--key', key)).code).toBe(0)
      expect(
        (await run('audit', 'verify', join(dir, 'access-log.json'), '--key', key, '--grant', grantId)).code,
      ).toBe(0)
      const report = await verifyAuditBundle(JSON.parse(bundle), { verifierKey: key, grantId })
      expect(report.ok).toBe(true)
      const amended = report.verified.filter((e) => e.type === 'grant.amended')
      expect(amended.map((e) => [e.data.action, e.data.by])).toEqual([
        ['merge', 'client'],
        ['replace', 'client'],
        ['narrow', 'subject'],
      ])
      for (let i = 1; i < amended.length; i++)
        expect(amended[i]!.data.before).toEqual(amended[i - 1]!.data.after)
      expect(amended.map((e) => e.data.receipt)).toEqual(payloads.slice(1).map((p) => p.jti))
      // Every receipt the recipient holds is in the trail, by digest.
      const digests = report.verified.filter((e) => e.type === 'receipt.issued').map((e) => e.data.digest)
      for (const jws of receipts) expect(digests).toContain(await sha256Hex(jws))
      // A tampered bundle fails offline.
      const parsed = JSON.parse(bundle)
      const leaf = JSON.parse(Buffer.from(parsed.entries[0].leaf, 'base64').toString('utf8'))
      leaf.data = { ...leaf.data, forged: true }
      parsed.entries[0].leaf = Buffer.from(JSON.stringify(leaf)).toString('base64')
      await writeFile(join(dir, 'tampered.json'), JSON.stringify(parsed))
      expect((await run('audit', 'verify', join(dir, 'tampered.json'), '--key', key)).code).toBe(1)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('the same rules on another data type: marketplace_sales at Bazaar Market', () => {
  let market: BazaarMarket
  let rm_: Recipient
  const SALES = {
    type: 'marketplace_sales',
    datatypes: ['orders'],
    stores: ['st_sam_eu'],
    fields: ['ordered_at', 'amount', 'currency'],
    period: { lookback_days: 90 },
    purpose: 'payment_processing',
    expires_in: 30 * 86400,
    max_reads_per_day: 4,
  }
  const sam = { username: 'sam', password: 'sam' }

  beforeAll(async () => {
    market = await startBazaarMarket({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
    rm_ = await registerRecipient(market.issuer, { name: 'Tidewater Payments', webhookUri: hookUrl })
  })
  afterAll(async () => market?.close())

  it('merges a store and a datatype in the seller’s words; the seller then narrows a store away mid-listing', async () => {
    const samBrowser = new FormBrowser()
    const pending0 = await pushRequest(rm_, [SALES])
    const first = await consent(market.issuer, pending0, sam, samBrowser)
    const { tokens, DPoP } = await exchange(rm_, pending0, first.location!)
    const grantId = grantIdOf(tokens)

    const { expires_in: _x, max_reads_per_day: _y, ...more } = SALES
    const pending = await amendPush(rm_, grantId, 'merge', [
      { ...more, stores: ['st_sam_uk'], datatypes: ['refunds'], fields: ['refunded_at'] },
    ])
    const answer = await consent(market.issuer, pending, {}, samBrowser)
    expect(text(answer.page)).toContain("Adds: Sam's Outdoor Gear UK, Refunds, Refund date")
    const merged = await exchange(rm_, pending, answer.location!)
    expect(grantIdOf(merged.tokens)).toBe(grantId)
    expect((await market.server.store.getGrant(grantId))!.authorizationDetails[0]).toMatchObject({
      stores: ['st_sam_eu', 'st_sam_uk'],
      datatypes: ['orders', 'refunds'],
    })
    // The first token reads the newly added store.
    const get = (path: string) => resourceGet(tokens.access_token, `${market.issuer}/api${path}`, DPoP)
    const uk = await get('/stores/st_sam_uk/orders?limit=1')
    expect(uk.status).toBe(200)
    const eu = await get('/stores/st_sam_eu/orders?limit=1')
    const cursor = ((await eu.json()) as { next_cursor: string }).next_cursor
    expect(cursor).toBeTypeOf('string')

    const { res } = await narrowOnDashboard(market, grantId, samBrowser, {
      accounts: ['st_sam_uk'],
      fields: ['ordered_at', 'amount', 'currency', 'refunded_at'],
    })
    expect(res.status).toBe(303)
    const next = await get(`/stores/st_sam_eu/orders?cursor=${encodeURIComponent(cursor)}`)
    expect(next.status).toBe(403)
    expect((await next.json()).code).toBe('outside_consent')
    expect(text(await grantPage(market, grantId, samBrowser))).toContain(
      "You narrowed access. Removes: Sam's Outdoor Gear",
    )
    const event = await until(
      async () =>
        (await eventsFor(market, rm_.client.client_id, GRANT_AMENDED_EVENT)).find(
          (e) => e.action === 'narrow',
        ),
      'the grant-amended event',
    )
    expect(event).toMatchObject({ grant_id: grantId, by: 'subject' })
  })
})

describe('the same rules on a summary type: affordability_summary (metrics, an object route)', () => {
  it('merges a metric in the person’s words, then the person narrows one away; the next summary follows', async () => {
    const TOTALS = {
      type: 'affordability_summary',
      accounts: [WALLET],
      period: { lookback_days: 365 },
      metrics: ['monthly_income'],
      purpose: 'credit_assessment',
      expires_in: 30 * 86400,
      max_reads_per_day: 4,
    }
    const { tokens, DPoP } = await link(holder.issuer, r, [TOTALS])
    const grantId = grantIdOf(tokens)
    const { expires_in: _x, max_reads_per_day: _y, ...more } = TOTALS
    const pending = await amendPush(r, grantId, 'merge', [{ ...more, metrics: ['monthly_spending'] }])
    const answer = await consent(holder.issuer, pending)
    expect(text(answer.page)).toContain('Adds: Money out each month')
    await exchange(r, pending, answer.location!)
    const summary = async () => {
      const res = await resourceGet(tokens.access_token, `${holder.issuer}/api/affordability-summary`, DPoP)
      expect(res.status).toBe(200)
      return (await res.json()) as { months: Array<Record<string, unknown>> }
    }
    const both = (await summary()).months.at(-1)!
    expect(both).toHaveProperty('income')
    expect(both).toHaveProperty('spending')

    const { res } = await narrowOnDashboard(holder, grantId, browserFor(holder.issuer), {
      fields: ['monthly_spending'],
    })
    expect(res.status).toBe(303)
    expect(text(await grantPage(holder, grantId))).toContain(
      'You narrowed access. Removes: Money in each month',
    )
    const after = (await summary()).months.at(-1)!
    expect(after).not.toHaveProperty('income')
    expect(after).toHaveProperty('spending')
  })
})
