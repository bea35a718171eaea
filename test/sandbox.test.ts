/**
 * The sandbox (`sandbox: true`), over real HTTP against Harbor Pay: off by default (404, absent from
 * the metadata), refused at start on a public issuer unless named loudly, a consented grant for a test
 * person without any page — by a raw RFC request and by `client.sandbox.link` — that reads exactly like
 * a consented one, the same checks as the token endpoint (client authentication, DPoP proof and nonce),
 * unknown people and accounts refused, and the test revocation: only the client's own grants, its
 * grant-ended event delivered to a real webhook, everything audited and on the person's dashboard.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  ConfigurationError,
  type ConsentClient,
  createConsentClient,
  type GrantEndedEvent,
  GrantRevokedError,
  InvalidRequestError,
  type RegisteredClient,
  registerClient,
} from '@consentry/client'
import { marketplaceSalesType } from '@consentry/example-marketplace/contract'
import { ConfigError, createConsentServer, memoryStore } from '@consentry/server'
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBazaarMarket } from '../examples/marketplace/src/app.ts'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { FormBrowser, formAction, hiddenInput } from './helpers/browser.ts'
import { holderConfig } from './helpers/holder.ts'
import { ORDER_FIELDS, shopOrdersDataType, shopOrdersType } from './helpers/orders-type.ts'
import { clientAuth, dpopKeys, dpopProof, fetchNonce, postForm } from './helpers/raw.ts'
import {
  link as consentLink,
  HISTORY_DETAIL,
  insecure,
  oauth,
  type Recipient,
  registerRecipient,
  resourceGet,
  withNonceRetry,
} from './helpers/recipient.ts'

const TRANSACTION_FIELDS = ['booked_at', 'amount', 'currency', 'description', 'category']
/** A detail that leaves the accounts open: the sandbox grants every one the person holds. */
const OPEN_DETAIL = {
  type: 'transaction_history',
  datatypes: ['accounts', 'balances', 'transactions'],
  fields: TRANSACTION_FIELDS,
  period: { lookback_days: 90 },
  purpose: 'credit_assessment',
  expires_in: 7 * 86400,
  max_reads_per_day: 10,
}

let holder: HarborPay
let off: HarborPay
let r: Recipient
let other: Recipient
let config: RegisteredClient
let client: ConsentClient
let hookServer: Server
let hookClient: ConsentClient
const events: GrantEndedEvent[] = []
const warnings: string[] = []

beforeAll(async () => {
  ;[holder, off] = await Promise.all([
    startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: {
        dataTypes: [shopOrdersDataType(new Date().toISOString().slice(0, 10))],
        purposes: {
          credit_assessment: { label: 'Credit assessment', description: 'To decide on a loan.' },
          payment_processing: { label: 'Payment processing', description: 'To process payments.' },
        },
        logger: { error: () => {}, warn: (_fields, message) => warnings.push(message ?? '') },
      },
    }),
    startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      sandbox: false,
    }),
  ])
  ;[r, other] = await Promise.all([
    registerRecipient(holder.issuer),
    registerRecipient(holder.issuer, { name: 'Other Lender' }),
  ])
  config = await registerClient({
    issuer: holder.issuer,
    initialAccessToken: 'demo-initial-access-token',
    clientName: 'Beacon Lending',
    redirectUris: ['http://127.0.0.1:9/callback'],
  })
  client = createConsentClient({ ...config, detailTypes: [shopOrdersType] })

  // A recipient with a webhook: a real local HTTP server running the client's own handler.
  let handle: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 })
  hookServer = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const response = await handle(
      new Request(`http://127.0.0.1${req.url}`, {
        method: req.method!,
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks),
      }),
    )
    res.writeHead(response.status).end()
  })
  await new Promise<void>((ok) => hookServer.listen(0, '127.0.0.1', ok))
  const hookConfig = await registerClient({
    issuer: holder.issuer,
    initialAccessToken: 'demo-initial-access-token',
    clientName: 'Beacon Lending (events)',
    redirectUris: ['http://127.0.0.1:9/callback'],
    webhookUri: `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/webhooks/consentry`,
  })
  hookClient = createConsentClient(hookConfig)
  handle = hookClient.webhookHandler((event) => {
    if (event.type === 'grant-ended') events.push(event)
  })
})

afterAll(async () => {
  await Promise.all([holder?.close(), off?.close()])
  hookServer?.close()
})

const linkUrl = () => `${holder.issuer}/sandbox/link`
const revokeUrl = () => `${holder.issuer}/sandbox/revoke`

/** The raw sandbox link request: client authentication, a DPoP proof with the nonce, the form. */
async function rawLink(
  form: Record<string, string>,
  o: { as?: Recipient; proof?: false; nonce?: false } = {},
) {
  const who = o.as ?? r
  const { keys, jkt } = await dpopKeys()
  const nonce = o.nonce === false ? undefined : await fetchNonce(who)
  const headers: Record<string, string> =
    o.proof === false
      ? {}
      : { dpop: await dpopProof(keys, { htm: 'POST', htu: linkUrl(), ...(nonce ? { nonce } : {}) }) }
  const answer = await postForm(linkUrl(), { ...(await clientAuth(who)), ...form }, headers)
  return { ...answer, keys, jkt }
}

async function rawRevoke(grantId: string, who: Recipient = r) {
  return postForm(revokeUrl(), { ...(await clientAuth(who)), grant_id: grantId })
}

const auditOf = (grantId: string) => holder.server.audit.list({ grantId })

/** Wait for a condition driven by another party (the holder's webhook push), bounded by attempts. */
async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((res) => setTimeout(res, 25))
  }
  throw new Error('the condition was not met')
}

describe('off by default', () => {
  it('a holder without sandbox: true has no sandbox endpoints and announces none', async () => {
    const meta = await (await fetch(`${off.issuer}/.well-known/oauth-authorization-server`)).json()
    expect(meta.token_endpoint).toBe(`${off.issuer}/token`)
    expect(meta).not.toHaveProperty('sandbox_link_endpoint')
    expect(meta).not.toHaveProperty('sandbox_revoke_endpoint')
    expect(off.server.urls.sandboxLink).toBeUndefined()
    for (const path of ['/sandbox/link', '/sandbox/revoke']) {
      const res = await fetch(`${off.issuer}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'subject=alice',
      })
      expect(res.status, path).toBe(404)
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      expect((await res.json()).code).toBe('not_found')
    }
    const openapi = await (await fetch(`${off.issuer}/api/openapi.json`)).json()
    expect(openapi.paths['/sandbox/link']).toBeUndefined()
  })

  it('the client says the holder runs no sandbox, before sending anything', async () => {
    const offConfig = await registerClient({
      issuer: off.issuer,
      initialAccessToken: 'demo-initial-access-token',
      clientName: 'Beacon Lending',
      redirectUris: ['http://127.0.0.1:9/callback'],
    })
    const offClient = createConsentClient(offConfig)
    const err = await offClient.sandbox
      .link({ subject: 'alice', authorizationDetails: [OPEN_DETAIL] })
      .catch((e) => e)
    expect(err).toBeInstanceOf(ConfigurationError)
    expect(err.message).toContain('sandbox_link_endpoint')
    await expect(offClient.sandbox.revoke('gr_x')).rejects.toBeInstanceOf(ConfigurationError)
  })
})

describe('configuration', () => {
  const base = (issuer: string) => holderConfig(issuer)

  it('refuses the sandbox on a public https issuer, naming the loud option', async () => {
    const err = await createConsentServer({ ...base('https://pay.example'), sandbox: true }).catch((e) => e)
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.code).toBe('invalid_config')
    expect(err.message).toContain('https://pay.example')
    expect(err.message).toContain('dangerouslyAllowSandboxOnPublicIssuer')
    // A public http issuer (itself a loud option) is just as public.
    await expect(
      createConsentServer({
        ...base('http://pay.example'),
        dangerouslyAllowInsecureIssuer: true,
        sandbox: true,
      }),
    ).rejects.toBeInstanceOf(ConfigError)
    await expect(
      createConsentServer({ ...base('http://127.0.0.1:9'), sandbox: 'yes' as never }),
    ).rejects.toThrow(/^sandbox: must be/)
  })

  it('accepts it with dangerouslyAllowSandboxOnPublicIssuer, announces it and warns loudly', async () => {
    const warned: Array<{ message: string; fields?: Record<string, unknown> }> = []
    const server = await createConsentServer({
      ...base('https://sandbox.pay.example'),
      sandbox: true,
      dangerouslyAllowSandboxOnPublicIssuer: true,
      logger: { error: () => {}, warn: (fields, message = '') => warned.push({ message, fields }) },
    })
    // In-process request: nothing leaves the machine, no name is resolved.
    const res = await server.fetch(
      new Request('https://sandbox.pay.example/.well-known/oauth-authorization-server'),
    )
    const meta = await res.json()
    expect(meta.sandbox_link_endpoint).toBe('https://sandbox.pay.example/sandbox/link')
    expect(meta.sandbox_revoke_endpoint).toBe('https://sandbox.pay.example/sandbox/revoke')
    const warning = warned.find((w) => w.fields?.option === 'sandbox')
    expect(warning?.message).toMatch(/SANDBOX IS ON/)
    expect(warning?.message).toContain('https://sandbox.pay.example/sandbox/link')
    // Not on by default even there; and on loopback no loud option is needed.
    const plain = await createConsentServer(base('https://pay.example'))
    const plainMeta = await (
      await plain.fetch(new Request('https://pay.example/.well-known/oauth-authorization-server'))
    ).json()
    expect(plainMeta).not.toHaveProperty('sandbox_link_endpoint')
    await expect(createConsentServer({ ...base('http://localhost:9'), sandbox: true })).resolves.toBeTruthy()
  })

  it('the demo holder runs it and says so at start', async () => {
    const meta = await (await fetch(`${holder.issuer}/.well-known/oauth-authorization-server`)).json()
    expect(meta.sandbox_link_endpoint).toBe(linkUrl())
    expect(meta.sandbox_revoke_endpoint).toBe(revokeUrl())
    expect(warnings.some((w) => w.includes('SANDBOX IS ON'))).toBe(true)
    const openapi = await (await fetch(`${holder.issuer}/api/openapi.json`)).json()
    expect(openapi.paths['/sandbox/link'].post.operationId).toBe('sandbox.link')
    expect(openapi.paths['/sandbox/revoke'].post.operationId).toBe('sandbox.revoke')
  })
})

describe('POST /sandbox/link, raw', () => {
  it('answers like the code exchange: a DPoP-bound token for every account of the person', async () => {
    const { status, body, res, keys, jkt } = await rawLink({
      subject: 'alice',
      authorization_details: JSON.stringify([OPEN_DETAIL]),
    })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(res.headers.get('cache-control')).toContain('no-store')
    expect(res.headers.get('dpop-nonce')).toBeTruthy()
    expect(body).toMatchObject({ token_type: 'DPoP', expires_in: 300 })
    expect(Object.keys(body!).sort()).toEqual(
      [
        'access_token',
        'authorization_details',
        'consent_receipt',
        'expires_in',
        'grant_id',
        'refresh_token',
        'token_type',
      ].sort(),
    )
    const [detail] = body!.authorization_details as Array<Record<string, unknown>>
    expect(detail!.accounts).toEqual(['acc_alice_wallet', 'acc_alice_savings'])
    expect(detail!.fields).toEqual(TRANSACTION_FIELDS)
    expect(detail!.datatypes).toEqual(['accounts', 'balances', 'transactions'])
    const claims = decodeJwt(body!.access_token as string)
    expect(claims.cnf).toEqual({ jkt })
    expect(claims.grant_id).toBe(body!.grant_id)
    expect(claims.sub).not.toBe('alice') // pairwise, as for any grant
    const receipt = decodeJwt(body!.consent_receipt as string)
    expect(receipt.grant_id).toBe(body!.grant_id)
    expect(receipt.status).toBe('active')

    // The token reads alice's data, with the same key.
    const DPoP = oauth.DPoP(r.client, keys)
    const accounts = await resourceGet(body!.access_token as string, `${holder.issuer}/api/accounts`, DPoP)
    expect(accounts.status).toBe(200)
    expect(((await accounts.json()).data as Array<{ id: string }>).map((a) => a.id)).toEqual([
      'acc_alice_wallet',
      'acc_alice_savings',
    ])
    // …and the refresh token refreshes, bound to that key.
    const refreshed = await withNonceRetry(
      () =>
        oauth.refreshTokenGrantRequest(r.as, r.client, r.auth, body!.refresh_token as string, {
          DPoP,
          ...insecure,
        }),
      (res) => oauth.processRefreshTokenResponse(r.as, r.client, res),
    )
    expect(refreshed.grant_id).toBe(body!.grant_id)
    expect(await calculateJwkThumbprint(await exportJWK(keys.publicKey))).toBe(jkt)
  })

  it('grants exactly what a person ticking everything on the consent page would', async () => {
    const orders = {
      type: 'shop_orders',
      datatypes: ['orders'],
      period: { lookback_days: 30 },
      purpose: 'payment_processing',
    }
    for (const asked of [HISTORY_DETAIL, orders]) {
      const viaPage = await consentLink(holder.issuer, r, [asked])
      const viaSandbox = await rawLink({ subject: 'alice', authorization_details: JSON.stringify([asked]) })
      expect(viaSandbox.status).toBe(200)
      expect(viaSandbox.body!.authorization_details).toEqual(viaPage.tokens.authorization_details)
    }
  })

  it('names only the accounts the details name, when they name some', async () => {
    const { status, body } = await rawLink({
      subject: 'alice',
      authorization_details: JSON.stringify([
        { ...OPEN_DETAIL, accounts: ['acc_alice_savings'], fields: ['amount', 'booked_at'] },
      ]),
    })
    expect(status).toBe(200)
    const [detail] = body!.authorization_details as Array<Record<string, unknown>>
    expect(detail!.accounts).toEqual(['acc_alice_savings'])
    expect(detail!.fields).toEqual(['booked_at', 'amount'])
  })

  it('refuses an unknown person, another person’s account, and a missing subject', async () => {
    const details = JSON.stringify([OPEN_DETAIL])
    const unknown = await rawLink({ subject: 'mallory', authorization_details: details })
    expect(unknown.status).toBe(400)
    expect(unknown.body).toEqual({
      error: 'invalid_request',
      error_description: 'subject is not a person this holder knows',
    })
    const missing = await rawLink({ authorization_details: details })
    expect(missing.body?.error).toBe('invalid_request')
    expect(missing.body?.error_description).toContain('subject is required')
    const control = await rawLink({ subject: 'ali\u0007ce', authorization_details: details })
    expect(control.body?.error).toBe('invalid_request')
    const bobs = await rawLink({
      subject: 'alice',
      authorization_details: JSON.stringify([{ ...OPEN_DETAIL, accounts: ['acc_bob_wallet'] }]),
    })
    expect(bobs.status).toBe(400)
    expect(bobs.body?.error).toBe('invalid_authorization_details')
    expect(bobs.body?.error_description).toContain('does not hold')
    const bad = await rawLink({ subject: 'alice', authorization_details: '[{"type":"nope"}]' })
    expect(bad.body?.error).toBe('invalid_authorization_details')
    // None of them made a grant.
    const grants = await holder.server.store.listGrants({ subject: 'mallory' })
    expect(grants).toEqual([])
  })

  it('needs the DPoP proof with the server nonce, and client authentication, like the token endpoint', async () => {
    const form = { subject: 'bob', authorization_details: JSON.stringify([OPEN_DETAIL]) }
    const before = (await holder.server.store.listGrants({ subject: 'bob' })).length
    const noProof = await rawLink(form, { proof: false })
    expect(noProof.status).toBe(400)
    expect(noProof.body?.error).toBe('invalid_dpop_proof')
    expect(noProof.res.headers.get('dpop-nonce')).toBeTruthy()
    const noNonce = await rawLink(form, { nonce: false })
    expect(noNonce.status).toBe(400)
    expect(noNonce.body?.error).toBe('use_dpop_nonce')
    // A proof for another endpoint does not do.
    const { keys } = await dpopKeys()
    const wrongHtu = await postForm(
      linkUrl(),
      { ...(await clientAuth(r)), ...form },
      {
        dpop: await dpopProof(keys, {
          htm: 'POST',
          htu: `${holder.issuer}/token`,
          nonce: await fetchNonce(r),
        }),
      },
    )
    expect(wrongHtu.body?.error).toBe('invalid_dpop_proof')
    const noClient = await postForm(linkUrl(), form, {
      dpop: await dpopProof(keys, { htm: 'POST', htu: linkUrl(), nonce: await fetchNonce(r) }),
    })
    expect(noClient.status).toBe(401)
    expect(noClient.body?.error).toBe('invalid_client')
    const get = await fetch(linkUrl())
    expect(get.status).toBe(405)
    expect((await get.json()).error).toBe('invalid_request') // an OAuth endpoint: OAuth JSON errors
    expect((await holder.server.store.listGrants({ subject: 'bob' })).length).toBe(before)
  })
})

describe('client.sandbox', () => {
  it('link() returns a Link that reads the person’s data, stored like a completed link', async () => {
    const link = await client.sandbox.link({ subject: 'bob', authorizationDetails: [OPEN_DETAIL] })
    expect(link.grant.accounts).toEqual(['acc_bob_wallet'])
    expect(link.grant.fields).toEqual(TRANSACTION_FIELDS)
    const accounts = await link.accounts()
    expect(accounts.map((a) => a.id)).toEqual(['acc_bob_wallet'])
    const txs = []
    for await (const tx of link.transactions({ accountId: 'acc_bob_wallet' })) txs.push(tx)
    expect(txs.length).toBeGreaterThan(10)
    expect(txs.every((t) => t.account_id === 'acc_bob_wallet')).toBe(true)
    // Re-opened from the token store, as any link.
    const again = await client.link(link.grantId)
    expect(again.grant.authorizationDetails).toEqual(link.grant.authorizationDetails)
    expect((await link.status()).status).toBe('active')
  })

  it('works for a holder-defined data type: every store of the person, every declared field', async () => {
    const link = await client.sandbox.link({
      subject: 'alice',
      authorizationDetails: [
        {
          type: 'shop_orders',
          datatypes: ['orders'],
          period: { lookback_days: 30 },
          purpose: 'payment_processing',
        },
      ],
    })
    const [detail] = link.grant.authorizationDetails
    expect(detail).toMatchObject({ stores: ['shop_a1', 'shop_a2'], fields: [...ORDER_FIELDS] })
    const orders = []
    for await (const o of link.records(shopOrdersType, 'orders', { store_id: 'shop_a2' })) orders.push(o)
    expect(orders.length).toBeGreaterThan(0)
    expect(orders.every((o) => o.store_id === 'shop_a2' && o.amount !== undefined)).toBe(true)
  })

  it('link() refuses bad input locally and an unknown person from the server', async () => {
    await expect(
      client.sandbox.link({ subject: '', authorizationDetails: [OPEN_DETAIL] }),
    ).rejects.toBeInstanceOf(InvalidRequestError)
    await expect(
      client.sandbox.link({ subject: 'alice', authorizationDetails: [{ type: 'transaction_history' }] }),
    ).rejects.toBeInstanceOf(InvalidRequestError)
    const err = await client.sandbox
      .link({ subject: 'nobody', authorizationDetails: [OPEN_DETAIL] })
      .catch((e) => e)
    expect(err).toBeInstanceOf(InvalidRequestError)
    expect(err.serverError).toBe('invalid_request')
    expect(err.message).toContain('not a person this holder knows')
  })
})

describe('the demo marketplace', () => {
  it('Bazaar Market runs it too: every store of the seller, every field of the chosen datatypes', async () => {
    const market = await startBazaarMarket({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { logger: { error: () => {}, warn: () => {} } },
    })
    try {
      const seller = createConsentClient({
        ...(await registerClient({
          issuer: market.issuer,
          initialAccessToken: 'demo-initial-access-token',
          clientName: 'Tidewater Payments (tests)',
          redirectUris: ['http://127.0.0.1:9/callback'],
        })),
        detailTypes: [marketplaceSalesType],
      })
      const link = await seller.sandbox.link({
        subject: 'sam',
        authorizationDetails: [
          {
            type: 'marketplace_sales',
            datatypes: ['settlements'],
            period: { lookback_days: 90 },
            purpose: 'payment_processing',
          },
        ],
      })
      const [detail] = link.grant.authorizationDetails
      expect(detail!.stores).toEqual(['st_sam_eu', 'st_sam_uk'])
      expect(detail!.fields).toEqual(expect.arrayContaining(['net_payout', 'payout_date', 'currency']))
      const settlements = []
      for await (const st of link.records(marketplaceSalesType, 'settlements', { store_id: 'st_sam_uk' }))
        settlements.push(st)
      expect(settlements.length).toBeGreaterThan(0)
      expect(settlements.every((st) => st.store_id === 'st_sam_uk' && st.currency === 'GBP')).toBe(true)
    } finally {
      await market.close()
    }
  })
})

describe('POST /sandbox/revoke', () => {
  it('revokes only the client’s own grants', async () => {
    const mine = await rawLink({ subject: 'alice', authorization_details: JSON.stringify([OPEN_DETAIL]) })
    const grantId = mine.body!.grant_id as string
    const stolen = await rawRevoke(grantId, other)
    expect(stolen.status).toBe(400)
    expect(stolen.body?.error).toBe('invalid_grant')
    expect((await holder.server.store.getGrant(grantId))?.status).toBe('active')
    const unknown = await rawRevoke('gr_does_not_exist')
    expect(unknown.body).toEqual(stolen.body) // another's grant is indistinguishable from none
    const noAuth = await postForm(revokeUrl(), { grant_id: grantId })
    expect(noAuth.status).toBe(401)

    const done = await rawRevoke(grantId)
    expect(done.status).toBe(200)
    expect(done.body).toMatchObject({
      grant_id: grantId,
      status: 'revoked',
      ended_reason: 'sandbox_revoked',
      event_queued: false, // this recipient registered no webhook
    })
    // Its token stops working at once.
    const read = await resourceGet(
      mine.body!.access_token as string,
      `${holder.issuer}/api/accounts`,
      oauth.DPoP(r.client, mine.keys),
    )
    expect(read.status).toBe(401)
    const twice = await rawRevoke(grantId)
    expect(twice.body).toEqual({ error: 'invalid_grant', error_description: 'the grant is not active' })
  })

  it('fires the grant-ended event to the recipient’s webhook, which ends the link', async () => {
    const link = await hookClient.sandbox.link({ subject: 'alice', authorizationDetails: [OPEN_DETAIL] })
    expect((await link.accounts()).length).toBe(2)
    const revoked = await hookClient.sandbox.revoke(link.grantId)
    expect(revoked).toEqual({
      grantId: link.grantId,
      status: 'revoked',
      reason: 'sandbox_revoked',
      eventQueued: true,
    })
    const event = await eventually(() => events.find((e) => e.grantId === link.grantId))
    expect(event).toMatchObject({ status: 'revoked', reason: 'sandbox_revoked' })
    const err = await link.accounts().catch((e) => e)
    expect(err).toBeInstanceOf(GrantRevokedError)
    expect(err.reason).toBe('sandbox_revoked')
    const delivered = await eventually(async () => {
      const d = await holder.server.audit.list({ grantId: link.grantId, types: ['webhook.delivered'] })
      return d.length ? d : undefined
    })
    expect(delivered).toHaveLength(1)
  })
})

describe('audited and on the person’s dashboard', () => {
  it('records who did what, and shows the grant and its history to the person', async () => {
    const link = await client.sandbox.link({ subject: 'alice', authorizationDetails: [OPEN_DETAIL] })
    await client.sandbox.revoke(link.grantId)
    const events = await auditOf(link.grantId)
    const byType = (t: string) => events.find((e) => e.type === t)
    expect(byType('grant.created')).toMatchObject({
      actor: { type: 'client', id: config.clientId },
      subject: 'alice',
      data: { status: 'active', sandbox: true },
    })
    expect(byType('grant.approved')).toMatchObject({
      actor: { type: 'system' },
      data: {
        type: 'transaction_history',
        accounts: ['acc_alice_wallet', 'acc_alice_savings'],
        purpose: 'credit_assessment',
        sandbox: true,
      },
    })
    expect(byType('token.issued')?.data).toMatchObject({ grant_type: 'sandbox', sandbox: true })
    expect(byType('receipt.issued')).toBeTruthy()
    expect(byType('grant.revoked')).toMatchObject({
      actor: { type: 'client', id: config.clientId },
      data: { reason: 'sandbox_revoked' },
    })

    // alice signs in to Harbor Pay's "Connected apps" and finds it, worded as the test it was.
    const browser = new FormBrowser()
    let { res, url } = await browser.follow(`${holder.issuer}/consents/${link.grantId}`, holder.issuer)
    const login = await res.text()
    ;({ res, url } = await browser.follow(formAction(login, url), holder.issuer, {
      form: { csrf: hiddenInput(login, 'csrf'), username: 'alice', password: 'alice' },
    }))
    expect(res.status).toBe(200)
    const page = await res.text()
    expect(page).toContain('Beacon Lending')
    expect(page).toContain('The sandbox allowed access, without asking you (a test)')
    expect(page).toContain('The app revoked access through the sandbox (a test)')
    const dashboard = await (await browser.request(`${holder.issuer}/consents`)).text()
    expect(dashboard).toContain(`/consents/${link.grantId}`)
  })
})
