import { memoryStore } from '@consentry/server'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { FormBrowser, formAction, hiddenInput } from './helpers/browser.ts'
import {
  consent,
  exchange,
  HISTORY_DETAIL,
  insecure,
  link,
  managementToken,
  oauth,
  pushRequest,
  type Recipient,
  registerRecipient,
  resourceRequest,
  withNonceRetry,
} from './helpers/recipient.ts'

let holder: HarborPay
let r: Recipient

beforeAll(async () => {
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
  })
  r = await registerRecipient(holder.issuer)
})
afterAll(() => holder.close())

describe('the whole grant flow, driven by oauth4webapi through the real forms', () => {
  it('publishes RFC 8414 metadata with the FAPI 2.0 profile', async () => {
    const as = r.as
    expect(as.issuer).toBe(holder.issuer)
    expect(as.require_pushed_authorization_requests).toBe(true)
    expect(as.code_challenge_methods_supported).toEqual(['S256'])
    expect(as.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt'])
    expect(as.authorization_response_iss_parameter_supported).toBe(true)
    expect(as.dpop_signing_alg_values_supported).not.toContain('RS256')
  })

  it('registers, pushes, signs in, consents, exchanges, refreshes, introspects, revokes', async () => {
    const { tokens, DPoP } = await link(holder.issuer, r, [HISTORY_DETAIL], {
      accounts: ['acc_alice_wallet'],
    })
    expect(tokens.token_type.toLowerCase()).toBe('dpop')
    expect(tokens.refresh_token).toBeTruthy()
    const granted = (tokens as unknown as { authorization_details: Array<Record<string, unknown>> })
      .authorization_details
    expect(granted[0]!.accounts).toEqual(['acc_alice_wallet'])
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    expect(grantId).toMatch(/^gr_/)

    // The access token is an RFC 9068 JWT bound to the DPoP key.
    const [h, p] = tokens.access_token
      .split('.')
      .slice(0, 2)
      .map((s) => JSON.parse(Buffer.from(s, 'base64url').toString()))
    expect(h.typ).toBe('at+jwt')
    expect(p.grant_id).toBe(grantId)
    expect(p.cnf.jkt).toBeTruthy()
    expect(p.authorization_details[0].accounts).toEqual(['acc_alice_wallet'])

    // The recipient receives the signed consent receipt, verifiable with the holder's JWKS.
    const receipt = (tokens as unknown as { consent_receipt: string }).consent_receipt
    const jwks = createLocalJWKSet(await (await fetch(r.as.jwks_uri!)).json())
    const { payload: rc, protectedHeader } = await jwtVerify(receipt, jwks, { issuer: holder.issuer })
    expect(protectedHeader.typ).toBe('consent-receipt+jwt')
    // `sub` is the person's pairwise identifier for this recipient (as in the access token), never
    // the holder's own subject.
    expect(p.sub).not.toBe('alice')
    expect(rc).toMatchObject({
      sub: p.sub,
      grant_id: grantId,
      status: 'active',
      recipient: { name: 'Beacon Lending' },
      purpose: { id: 'credit_assessment' },
    })

    // Refresh rotates.
    const refresh = (rt: string) =>
      withNonceRetry(
        () => oauth.refreshTokenGrantRequest(r.as, r.client, r.auth, rt, { DPoP, ...insecure }),
        (res) => oauth.processRefreshTokenResponse(r.as, r.client, res),
      )
    const refreshed = await refresh(tokens.refresh_token!)
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token)

    // Introspection shows the grant and the binding.
    const intro = await oauth.processIntrospectionResponse(
      r.as,
      r.client,
      await oauth.introspectionRequest(r.as, r.client, r.auth, refreshed.access_token, insecure),
    )
    expect(intro.active).toBe(true)
    expect(intro.grant_id).toBe(grantId)
    expect((intro.cnf as { jkt: string }).jkt).toBe(p.cnf.jkt)

    // Revocation ends the grant: the refresh token and introspection both see it at once.
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(r.as, r.client, r.auth, refreshed.refresh_token!, insecure),
    )
    const after = await oauth.processIntrospectionResponse(
      r.as,
      r.client,
      await oauth.introspectionRequest(r.as, r.client, r.auth, refreshed.access_token, insecure),
    )
    expect(after.active).toBe(false)
    await expect(refresh(refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' })
    const events = await holder.server.audit.list({ grantId })
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'grant.created',
        'grant.approved',
        'token.issued',
        'token.refreshed',
        'grant.revoked',
      ]),
    )
  })

  it('answers a denial with access_denied, state and iss', async () => {
    const pending = await pushRequest(r)
    const answer = await consent(holder.issuer, pending, { decision: 'deny' })
    expect(answer.status).toBe(303)
    const cb = new URL(answer.location!)
    expect(cb.searchParams.get('error')).toBe('access_denied')
    expect(cb.searchParams.get('state')).toBe(pending.state)
    expect(cb.searchParams.get('iss')).toBe(holder.issuer)
    expect(() => oauth.validateAuthResponse(r.as, r.client, cb, pending.state)).toThrow()
  })

  it('queries and deletes a grant through grant management', async () => {
    const { tokens } = await link(holder.issuer, r)
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    const keys = await oauth.generateKeyPair('ES256')
    const DPoP = oauth.DPoP(r.client, keys)
    const mgmt = await managementToken(r, DPoP)
    const call = (method: string) =>
      resourceRequest(method, mgmt.access_token, `${holder.issuer}/grants/${grantId}`, DPoP)
    const got = await call('GET')
    expect(got.status).toBe(200)
    expect(await got.json()).toMatchObject({ grant_id: grantId, status: 'active' })
    expect((await call('DELETE')).status).toBe(204)
    const again = await call('GET')
    expect(await again.json()).toMatchObject({
      grant_id: grantId,
      status: 'revoked',
      ended_reason: 'revoked_by_client',
    })
  })

  it('exchanges a code only once, with the right verifier and DPoP key', async () => {
    const pending = await pushRequest(r)
    const answer = await consent(holder.issuer, pending)
    const first = await exchange(r, pending, answer.location!)
    expect(first.tokens.access_token).toBeTruthy()
    await expect(exchange(r, pending, answer.location!)).rejects.toMatchObject({ error: 'invalid_grant' })
  })

  it('refuses an answer that widens or empties the request, and says why', async () => {
    const pending = await pushRequest(r, [{ ...HISTORY_DETAIL, accounts: ['acc_alice_wallet'] }])
    const none = await consent(holder.issuer, pending, { accounts: [] })
    expect(none.status).toBe(400)
    expect(none.location).toBeNull()
    const widened = await consent(
      holder.issuer,
      await pushRequest(r, [{ ...HISTORY_DETAIL, accounts: ['acc_alice_wallet'] }]),
      { accounts: ['acc_alice_wallet', 'acc_alice_savings'] },
    )
    expect(widened.status).toBe(400)
    const moreFields = await consent(holder.issuer, await pushRequest(r), {
      fields: ['amount', 'counterparty'],
    })
    expect(moreFields.status).toBe(400)
  })

  // Only failures count (issue 9): signing in often never locks a person out, and a success resets
  // the (username, address) count. Delays and 429s are proven with an injected clock in
  // test/security-signin.test.ts.
  it('counts only failed sign-ins: 12 sign-ins in a row all work, and a success resets the count', async () => {
    const loginUrl = `${holder.issuer}/login`
    const attempt = async (password: string) => {
      const browser = new FormBrowser()
      const page = await (await browser.request(loginUrl)).text()
      return browser.request(formAction(page, loginUrl), {
        form: { csrf: hiddenInput(page, 'csrf'), username: 'bob', password },
      })
    }
    for (let i = 0; i < 12; i++) expect((await attempt('bob')).status).toBe(303)
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) expect((await attempt(`guess-${round}-${i}`)).status).toBe(401)
      expect((await attempt('bob')).status).toBe(303)
    }
  })
})
