/**
 * The authorization server's rejections, over real HTTP: every check answers with the exact standard
 * error (status + `error`, a `WWW-Authenticate: DPoP` challenge, or a problem+json `code`), and each
 * test is built so it would pass the request through if the check were missing. Then a battery of
 * garbage at every route: never a 5xx, never an echoed secret.
 */

import { memoryStore } from '@consentry/server'
import { exportJWK, generateKeyPair, importJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { FormBrowser, formAction, hiddenInput } from './helpers/browser.ts'
import {
  challenge,
  clientAuth,
  dpopKeys,
  dpopProof,
  fetchNonce,
  gm,
  JWT_BEARER,
  postForm,
  type RawResponse,
  randomId,
  rawRequest,
} from './helpers/raw.ts'
import {
  consent,
  exchange,
  HISTORY_DETAIL,
  INITIAL_ACCESS_TOKEN,
  link,
  oauth,
  pushRequest,
  REDIRECT_URI,
  type Recipient,
  registerRecipient,
} from './helpers/recipient.ts'

let holder: HarborPay
let r: Recipient
let other: Recipient
let resource: string

beforeAll(async () => {
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
  })
  r = await registerRecipient(holder.issuer)
  other = await registerRecipient(holder.issuer, { name: 'Other Lender' })
  resource = holder.server.urls.resource
})
afterAll(() => holder.close())

/** A token request with a hand-built assertion and (unless `proof: null`) a valid, nonce'd DPoP proof. */
async function tokenRequest(
  client: Recipient,
  form: Record<string, string>,
  o: { proof?: string | null; keys?: CryptoKeyPair } = {},
) {
  let proof = o.proof
  if (proof === undefined) {
    const keys = o.keys ?? (await dpopKeys()).keys
    proof = await dpopProof(keys, {
      htm: 'POST',
      htu: client.as.token_endpoint!,
      nonce: await fetchNonce(client),
    })
  }
  return postForm(
    client.as.token_endpoint!,
    { ...(await clientAuth(client)), ...form },
    proof === null ? {} : { dpop: proof },
  )
}

const MGMT = { grant_type: 'client_credentials', scope: 'grant_management_query' }

/** PAR → login → consent; the code from the callback, not yet exchanged. */
async function codeFor(client: Recipient) {
  const pending = await pushRequest(client)
  const answer = await consent(holder.issuer, pending)
  expect(answer.status).toBe(303)
  const callback = new URL(answer.location!)
  return { pending, callback: callback.href, code: callback.searchParams.get('code')! }
}

/** The form of a correct code exchange for `c`. */
const codeForm = (client: Recipient, c: Awaited<ReturnType<typeof codeFor>>) => ({
  grant_type: 'authorization_code',
  code: c.code,
  redirect_uri: client.redirectUri,
  code_verifier: c.pending.verifier,
})

/** A client-credentials grant-management token, bound to fresh keys. */
async function managementToken(client: Recipient, scope: string) {
  const { keys } = await dpopKeys()
  const { status, body } = await tokenRequest(client, { grant_type: 'client_credentials', scope }, { keys })
  expect(status).toBe(200)
  return { at: body!.access_token as string, keys }
}

async function resourceCall(url: string, o: { authorization?: string; proof?: string; method?: string }) {
  const headers: Record<string, string> = {}
  if (o.authorization) headers.authorization = o.authorization
  if (o.proof) headers.dpop = o.proof
  return fetch(url, { method: o.method ?? 'GET', headers })
}

async function introspect(client: Recipient, token: string) {
  const { status, body } = await postForm(client.as.introspection_endpoint!, {
    token,
    ...(await clientAuth(client)),
  })
  expect(status).toBe(200)
  return body!
}

// ---------------------------------------------------------------------------------------------------

describe('the raw helpers themselves (positive controls)', () => {
  it('a hand-built assertion and nonce’d proof get a token; the token and a proof with ath read the API', async () => {
    const { keys } = await dpopKeys()
    const { status, body } = await tokenRequest(r, MGMT, { keys })
    expect(status).toBe(200)
    expect(body!.token_type).toBe('DPoP')

    const linked = await link(holder.issuer, r)
    const at = linked.tokens.access_token
    const nonce = await fetchNonce(r)
    const res = await resourceCall(`${resource}/accounts`, {
      authorization: `DPoP ${at}`,
      proof: await dpopProof(linked.pending.dpopKeys, {
        htm: 'GET',
        htu: `${resource}/accounts`,
        nonce,
        accessToken: at,
      }),
    })
    expect(res.status).toBe(200)
  })
})

describe('authorization code and PKCE', () => {
  it('refuses a wrong PKCE verifier with invalid_grant', async () => {
    const c = await codeFor(r)
    const wrong = oauth.generateRandomCodeVerifier()
    const answer = await tokenRequest(
      r,
      { ...codeForm(r, c), code_verifier: wrong },
      { keys: c.pending.dpopKeys },
    )
    expect(gm(answer)).toEqual({ status: 400, error: 'invalid_grant' })
  })

  it('refuses a reused code, and the reuse revokes what the first exchange issued', async () => {
    const c = await codeFor(r)
    const first = await exchange(r, c.pending, c.callback)
    const { access_token: at, refresh_token: rt } = first.tokens
    expect((await introspect(r, at)).active).toBe(true)

    const second = await tokenRequest(r, codeForm(r, c), { keys: c.pending.dpopKeys })
    expect(gm(second)).toEqual({ status: 400, error: 'invalid_grant' })

    expect((await introspect(r, at)).active).toBe(false)
    expect((await introspect(r, rt!)).active).toBe(false)
    const refreshed = await tokenRequest(
      r,
      { grant_type: 'refresh_token', refresh_token: rt! },
      { keys: c.pending.dpopKeys },
    )
    expect(gm(refreshed)).toEqual({ status: 400, error: 'invalid_grant' })
    const nonce = await fetchNonce(r)
    const read = await resourceCall(`${resource}/accounts`, {
      authorization: `DPoP ${at}`,
      proof: await dpopProof(c.pending.dpopKeys, {
        htm: 'GET',
        htu: `${resource}/accounts`,
        nonce,
        accessToken: at,
      }),
    })
    expect(read.status).toBe(401)
    expect(challenge(read)).toBe('invalid_token')
  })

  it('refuses a code presented after its 60 s lifetime (server clock advanced, client skew set to match)', async () => {
    let offsetMs = 0
    const clocked = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { now: () => Date.now() + offsetMs },
    })
    try {
      const rc = await registerRecipient(clocked.issuer)
      const pending = await pushRequest(rc)
      const answer = await consent(clocked.issuer, pending)
      expect(answer.status).toBe(303)
      offsetMs = 61_000
      // oauth4webapi: now = local epoch + client[clockSkew]; the server is 61 s ahead.
      rc.client[oauth.clockSkew] = 61
      const err = await exchange(rc, pending, answer.location!).then(
        () => null,
        (e) => e,
      )
      expect(err).toBeInstanceOf(oauth.ResponseBodyError)
      expect(err).toMatchObject({ error: 'invalid_grant', status: 400 })
      // Control: the same client, with the same skew, is otherwise accepted (so this was the code's expiry).
      const again = await pushRequest(rc)
      const fresh = await consent(clocked.issuer, again)
      const ok = await exchange(rc, again, fresh.location!)
      expect(ok.tokens.access_token).toBeTruthy()
    } finally {
      await clocked.close()
    }
  })

  it('refuses a redirect_uri altered at the code exchange with invalid_grant', async () => {
    const c = await codeFor(r)
    const answer = await tokenRequest(
      r,
      { ...codeForm(r, c), redirect_uri: `${REDIRECT_URI}/other` },
      { keys: c.pending.dpopKeys },
    )
    expect(gm(answer)).toEqual({ status: 400, error: 'invalid_grant' })
  })

  it('refuses a code redeemed with a DPoP key other than the dpop_jkt pushed at PAR', async () => {
    const c = await codeFor(r)
    const { keys } = await dpopKeys()
    const answer = await tokenRequest(r, codeForm(r, c), { keys })
    expect(gm(answer)).toEqual({ status: 400, error: 'invalid_grant' })
  })

  it('refuses another client’s code with invalid_grant', async () => {
    const c = await codeFor(r)
    const answer = await tokenRequest(other, codeForm(r, c), { keys: c.pending.dpopKeys })
    expect(gm(answer)).toEqual({ status: 400, error: 'invalid_grant' })
  })
})

describe('DPoP at the token endpoint', () => {
  const htu = () => r.as.token_endpoint!

  it('refuses a request without a proof with invalid_dpop_proof (and still hands out a nonce)', async () => {
    const answer = await tokenRequest(r, MGMT, { proof: null })
    expect(gm(answer)).toEqual({ status: 400, error: 'invalid_dpop_proof' })
    expect(answer.res.headers.get('dpop-nonce')).toBeTruthy()
  })

  it('answers a proof without a nonce with use_dpop_nonce and a DPoP-Nonce header that then works', async () => {
    const { keys } = await dpopKeys()
    const first = await tokenRequest(r, MGMT, { proof: await dpopProof(keys, { htm: 'POST', htu: htu() }) })
    expect(gm(first)).toEqual({ status: 400, error: 'use_dpop_nonce' })
    const nonce = first.res.headers.get('dpop-nonce')
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{16,}$/)
    const retry = await tokenRequest(r, MGMT, {
      proof: await dpopProof(keys, { htm: 'POST', htu: htu(), nonce: nonce! }),
    })
    expect(retry.status).toBe(200)
    const stale = await tokenRequest(r, MGMT, {
      proof: await dpopProof(keys, { htm: 'POST', htu: htu(), nonce: 'not-a-server-nonce-0123456789abcd' }),
    })
    expect(gm(stale)).toEqual({ status: 400, error: 'use_dpop_nonce' })
  })

  const broken: Array<[string, (keys: CryptoKeyPair, nonce: string) => Promise<string>]> = [
    ['wrong htm', (k, nonce) => dpopProof(k, { htm: 'GET', htu: htu(), nonce })],
    [
      'wrong htu (another endpoint)',
      (k, nonce) => dpopProof(k, { htm: 'POST', htu: r.as.pushed_authorization_request_endpoint!, nonce }),
    ],
    [
      'wrong htu (another host)',
      (k, nonce) => dpopProof(k, { htm: 'POST', htu: 'https://evil.example/token', nonce }),
    ],
    [
      'iat 5 minutes old',
      (k, nonce) =>
        dpopProof(k, { htm: 'POST', htu: htu(), nonce, iat: Math.floor(Date.now() / 1000) - 300 }),
    ],
    [
      'iat 5 minutes ahead',
      (k, nonce) =>
        dpopProof(k, { htm: 'POST', htu: htu(), nonce, iat: Math.floor(Date.now() / 1000) + 300 }),
    ],
    ['typ JWT', (k, nonce) => dpopProof(k, { htm: 'POST', htu: htu(), nonce, typ: 'JWT' })],
    ['alg HS256', (k, nonce) => dpopProof(k, { htm: 'POST', htu: htu(), nonce, alg: 'HS256' })],
    ['alg none', (k, nonce) => dpopProof(k, { htm: 'POST', htu: htu(), nonce, alg: 'none' })],
    [
      'private key in the header jwk',
      async (k, nonce) =>
        dpopProof(k, { htm: 'POST', htu: htu(), nonce, jwk: await exportJWK(k.privateKey) }),
    ],
    ['no jwk', async (k, nonce) => dpopProof(k, { htm: 'POST', htu: htu(), nonce, jwk: {} })],
    [
      'jwk of another key',
      async (k, nonce) =>
        dpopProof(k, {
          htm: 'POST',
          htu: htu(),
          nonce,
          jwk: await exportJWK((await dpopKeys()).keys.publicKey),
        }),
    ],
    ['short jti', (k, nonce) => dpopProof(k, { htm: 'POST', htu: htu(), nonce, jti: 'x' })],
    ['not a JWT', async () => 'not-a-jwt'],
  ]
  for (const [name, make] of broken) {
    it(`refuses a proof with ${name}: invalid_dpop_proof`, async () => {
      const { keys } = await dpopKeys()
      const answer = await tokenRequest(r, MGMT, { proof: await make(keys, await fetchNonce(r)) })
      expect(gm(answer)).toEqual({ status: 400, error: 'invalid_dpop_proof' })
    })
  }

  it('refuses two DPoP headers, and a replayed proof', async () => {
    const { keys } = await dpopKeys()
    const nonce = await fetchNonce(r)
    const a = await dpopProof(keys, { htm: 'POST', htu: htu(), nonce })
    const b = await dpopProof(keys, { htm: 'POST', htu: htu(), nonce })
    expect(gm(await tokenRequest(r, MGMT, { proof: `${a}, ${b}` }))).toEqual({
      status: 400,
      error: 'invalid_dpop_proof',
    })
    expect((await tokenRequest(r, MGMT, { proof: a })).status).toBe(200)
    expect(gm(await tokenRequest(r, MGMT, { proof: a }))).toEqual({
      status: 400,
      error: 'invalid_dpop_proof',
    })
  })
})

describe('DPoP and access tokens at the resource', () => {
  let at: string
  let keys: CryptoKeyPair
  const accounts = () => `${resource}/accounts`

  beforeAll(async () => {
    const linked = await link(holder.issuer, r)
    at = linked.tokens.access_token
    keys = linked.pending.dpopKeys
  })

  it('refuses a replayed proof: the second use gets 401 DPoP error="invalid_dpop_proof"', async () => {
    const proof = await dpopProof(keys, {
      htm: 'GET',
      htu: accounts(),
      nonce: await fetchNonce(r),
      accessToken: at,
    })
    const first = await resourceCall(accounts(), { authorization: `DPoP ${at}`, proof })
    expect(first.status).toBe(200)
    const second = await resourceCall(accounts(), { authorization: `DPoP ${at}`, proof })
    expect(second.status).toBe(401)
    expect(challenge(second)).toBe('invalid_dpop_proof')
  })

  it('answers a proof without a nonce with 401 use_dpop_nonce and a DPoP-Nonce header', async () => {
    const res = await resourceCall(accounts(), {
      authorization: `DPoP ${at}`,
      proof: await dpopProof(keys, { htm: 'GET', htu: accounts(), accessToken: at }),
    })
    expect(res.status).toBe(401)
    expect(challenge(res)).toBe('use_dpop_nonce')
    expect(res.headers.get('dpop-nonce')).toBeTruthy()
  })

  it('refuses a DPoP-bound token sent as Bearer with 401 invalid_token', async () => {
    const res = await resourceCall(accounts(), {
      authorization: `Bearer ${at}`,
      proof: await dpopProof(keys, {
        htm: 'GET',
        htu: accounts(),
        nonce: await fetchNonce(r),
        accessToken: at,
      }),
    })
    expect(res.status).toBe(401)
    expect(challenge(res)).toBe('invalid_token')
    const bare = await resourceCall(accounts(), { authorization: `Bearer ${at}` })
    expect(bare.status).toBe(401)
    expect(challenge(bare)).toBe('invalid_token')
  })

  it('refuses a token bound to key A used with a proof from key B: 401 invalid_token', async () => {
    const b = (await dpopKeys()).keys
    const res = await resourceCall(accounts(), {
      authorization: `DPoP ${at}`,
      proof: await dpopProof(b, { htm: 'GET', htu: accounts(), nonce: await fetchNonce(r), accessToken: at }),
    })
    expect(res.status).toBe(401)
    expect(challenge(res)).toBe('invalid_token')
  })

  it('refuses a proof without ath, and with the ath of another token: invalid_dpop_proof', async () => {
    const nonce = await fetchNonce(r)
    const missing = await resourceCall(accounts(), {
      authorization: `DPoP ${at}`,
      proof: await dpopProof(keys, { htm: 'GET', htu: accounts(), nonce }),
    })
    expect(missing.status).toBe(401)
    expect(challenge(missing)).toBe('invalid_dpop_proof')
    const wrong = await resourceCall(accounts(), {
      authorization: `DPoP ${at}`,
      proof: await dpopProof(keys, { htm: 'GET', htu: accounts(), nonce, accessToken: `${at}x` }),
    })
    expect(wrong.status).toBe(401)
    expect(challenge(wrong)).toBe('invalid_dpop_proof')
  })

  it('refuses a proof for another URL or method at the resource', async () => {
    const nonce = await fetchNonce(r)
    const url = await resourceCall(accounts(), {
      authorization: `DPoP ${at}`,
      proof: await dpopProof(keys, {
        htm: 'GET',
        htu: `${resource}/accounts/acc_alice_wallet/transactions`,
        nonce,
        accessToken: at,
      }),
    })
    expect(challenge(url)).toBe('invalid_dpop_proof')
    const method = await resourceCall(accounts(), {
      authorization: `DPoP ${at}`,
      proof: await dpopProof(keys, { htm: 'POST', htu: accounts(), nonce, accessToken: at }),
    })
    expect(challenge(method)).toBe('invalid_dpop_proof')
  })

  it('refuses a missing proof, a missing token, and a forged token', async () => {
    const nonce = await fetchNonce(r)
    const noProof = await resourceCall(accounts(), { authorization: `DPoP ${at}` })
    expect([noProof.status, challenge(noProof)]).toEqual([401, 'invalid_dpop_proof'])
    const noToken = await resourceCall(accounts(), {
      proof: await dpopProof(keys, { htm: 'GET', htu: accounts(), nonce }),
    })
    expect([noToken.status, challenge(noToken)]).toEqual([401, 'invalid_token'])
    const [h, p] = at.split('.')
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString())
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'bob' })).toString('base64url')}.${at.split('.')[2]}`
    const res = await resourceCall(accounts(), {
      authorization: `DPoP ${forged}`,
      proof: await dpopProof(keys, { htm: 'GET', htu: accounts(), nonce, accessToken: forged }),
    })
    expect([res.status, challenge(res)]).toEqual([401, 'invalid_token'])
  })

  it('refuses a grant-management token at the resource (wrong audience): invalid_token', async () => {
    const m = await managementToken(r, 'grant_management_query')
    const res = await resourceCall(accounts(), {
      authorization: `DPoP ${m.at}`,
      proof: await dpopProof(m.keys, {
        htm: 'GET',
        htu: accounts(),
        nonce: await fetchNonce(r),
        accessToken: m.at,
      }),
    })
    expect([res.status, challenge(res)]).toEqual([401, 'invalid_token'])
  })

  it('refuses bad query parameters with 400 problem+json (limit, dates, cursor)', async () => {
    const cases: Array<[string, string]> = [
      ['limit=abc', 'invalid_parameter'],
      ['limit=0', 'invalid_parameter'],
      ['limit=501', 'invalid_parameter'],
      ['from=2020-13-45', 'invalid_parameter'],
      ['to=2024-02-30', 'invalid_parameter'],
      ['cursor=%%%', 'invalid_cursor'],
      ['cursor=abc.def', 'invalid_cursor'],
    ]
    for (const [query, code] of cases) {
      const base = `${resource}/accounts/acc_alice_wallet/transactions`
      const res = await resourceCall(`${base}?${query}`, {
        authorization: `DPoP ${at}`,
        proof: await dpopProof(keys, { htm: 'GET', htu: base, nonce: await fetchNonce(r), accessToken: at }),
      })
      expect({ query, status: res.status, type: res.headers.get('content-type') }).toEqual({
        query,
        status: 400,
        type: 'application/problem+json',
      })
      expect((await res.json()).code).toBe(code)
    }
  })
})

describe('client authentication (private_key_jwt)', () => {
  const introspectWith = async (form: Record<string, string>) =>
    postForm(r.as.introspection_endpoint!, { token: 'x', ...form })

  it('accepts a correct assertion (control)', async () => {
    expect((await introspectWith(await clientAuth(r))).status).toBe(200)
  })

  it('refuses an assertion whose aud is the token endpoint, another issuer, or a list', async () => {
    for (const aud of [
      r.as.token_endpoint!,
      'https://other-issuer.example',
      [r.as.issuer, 'https://other-issuer.example'],
    ]) {
      expect(gm(await introspectWith(await clientAuth(r, { aud })))).toEqual({
        status: 401,
        error: 'invalid_client',
      })
    }
  })

  it('refuses a reused assertion jti', async () => {
    const jti = randomId()
    expect((await introspectWith(await clientAuth(r, { jti }))).status).toBe(200)
    expect(gm(await introspectWith(await clientAuth(r, { jti })))).toEqual({
      status: 401,
      error: 'invalid_client',
    })
  })

  it('refuses RS256 from a client registered with an RSA key (PS256 with the same key works)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
    const jwk = { ...(await exportJWK(publicKey)), use: 'sig', kid: 'k1' } // no `alg`
    const reg = await fetch(r.as.registration_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
      body: JSON.stringify({
        client_name: 'RSA Lender',
        redirect_uris: [REDIRECT_URI],
        jwks: { keys: [jwk] },
      }),
    })
    expect(reg.status).toBe(201)
    const clientId = (await reg.json()).client_id as string
    const rsa = { as: r.as, client: { client_id: clientId }, privateKey }
    const rs256 = await postForm(r.as.introspection_endpoint!, {
      token: 'x',
      ...(await clientAuth(rsa, { alg: 'RS256' })),
    })
    expect(gm(rs256)).toEqual({ status: 401, error: 'invalid_client' })
    const pss = (await importJWK(await exportJWK(privateKey), 'PS256')) as CryptoKey
    const ps256 = await postForm(r.as.introspection_endpoint!, {
      token: 'x',
      ...(await clientAuth({ ...rsa, privateKey: pss }, { alg: 'PS256' })),
    })
    expect(ps256.status).toBe(200)
  })

  it('refuses an unsigned alg:none assertion', async () => {
    expect(gm(await introspectWith(await clientAuth(r, { alg: 'none' })))).toEqual({
      status: 401,
      error: 'invalid_client',
    })
  })

  it('refuses an assertion signed by another key than the registered one', async () => {
    const { privateKey } = await generateKeyPair('ES256')
    expect(gm(await introspectWith(await clientAuth(r, { key: privateKey })))).toEqual({
      status: 401,
      error: 'invalid_client',
    })
  })

  it('refuses an assertion for an unknown client', async () => {
    const ghost = { as: r.as, client: { client_id: 'cl_does_not_exist' }, privateKey: r.privateKey }
    expect(gm(await introspectWith(await clientAuth(ghost)))).toEqual({
      status: 401,
      error: 'invalid_client',
    })
  })

  it('refuses a client_id that differs from the assertion’s iss', async () => {
    expect(gm(await introspectWith({ ...(await clientAuth(r)), client_id: other.client.client_id }))).toEqual(
      { status: 401, error: 'invalid_client' },
    )
  })

  it('refuses an expired assertion and one that lives too long', async () => {
    const now = Math.floor(Date.now() / 1000)
    expect(gm(await introspectWith(await clientAuth(r, { iat: now - 600, exp: now - 120 })))).toEqual({
      status: 401,
      error: 'invalid_client',
    })
    expect(gm(await introspectWith(await clientAuth(r, { exp: now + 3600 })))).toEqual({
      status: 401,
      error: 'invalid_client',
    })
  })

  it('refuses a request without client authentication, or with another assertion type', async () => {
    for (const endpoint of [
      r.as.introspection_endpoint!,
      r.as.revocation_endpoint!,
      r.as.pushed_authorization_request_endpoint!,
      r.as.token_endpoint!,
    ]) {
      expect(
        gm(
          await postForm(endpoint, {
            token: 'x',
            grant_type: 'client_credentials',
            client_id: r.client.client_id,
          }),
        ),
      ).toEqual({ status: 401, error: 'invalid_client' })
    }
    const auth = await clientAuth(r)
    expect(
      gm(
        await introspectWith({
          ...auth,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
        }),
      ),
    ).toEqual({ status: 401, error: 'invalid_client' })
    expect(gm(await introspectWith({ ...auth, client_assertion: 'garbage' }))).toEqual({
      status: 401,
      error: 'invalid_client',
    })
  })
})

describe('pushed authorization requests', () => {
  async function par(overrides: Record<string, string | undefined>) {
    const { jkt } = await dpopKeys()
    const verifier = oauth.generateRandomCodeVerifier()
    const form: Record<string, string> = {
      response_type: 'code',
      redirect_uri: r.redirectUri,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'st',
      authorization_details: JSON.stringify([HISTORY_DETAIL]),
      dpop_jkt: jkt,
      ...(await clientAuth(r)),
    }
    for (const [k, v] of Object.entries(overrides)) {
      if (v === undefined) delete form[k]
      else form[k] = v
    }
    return postForm(r.as.pushed_authorization_request_endpoint!, form)
  }

  it('accepts the well-formed request (control)', async () => {
    const ok = await par({})
    expect(ok.status).toBe(201)
    expect(ok.body!.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/)
  })

  const invalidRequest: Array<[string, Record<string, string | undefined>]> = [
    ['an unregistered redirect_uri', { redirect_uri: 'http://127.0.0.1:9/elsewhere' }],
    ['a redirect_uri that only extends the registered one', { redirect_uri: `${REDIRECT_URI}?x=1` }],
    ['no redirect_uri', { redirect_uri: undefined }],
    ['no code_challenge', { code_challenge: undefined }],
    ['code_challenge_method plain', { code_challenge_method: 'plain' }],
    ['no code_challenge_method', { code_challenge_method: undefined }],
    ['a malformed code_challenge', { code_challenge: 'short' }],
    ['no dpop_jkt', { dpop_jkt: undefined }],
    ['a malformed dpop_jkt', { dpop_jkt: 'not-a-thumbprint' }],
    ['a request object', { request: 'eyJhbGciOiJub25lIn0.e30.' }],
    ['a request_uri', { request_uri: 'urn:ietf:params:oauth:request_uri:abc' }],
    ['response_mode', { response_mode: 'fragment' }],
    ['response_type token', { response_type: 'token' }],
    ['a non-printable state', { state: 'a\u0001b' }],
  ]
  for (const [name, overrides] of invalidRequest) {
    it(`refuses ${name}: invalid_request`, async () => {
      expect(gm(await par(overrides))).toEqual({ status: 400, error: 'invalid_request' })
    })
  }

  const detail = (patch: Record<string, unknown>) => JSON.stringify([{ ...HISTORY_DETAIL, ...patch }])
  const drop = (key: string) => {
    const { [key]: _, ...rest } = HISTORY_DETAIL as Record<string, unknown>
    return JSON.stringify([rest])
  }
  const badDetails: Array<[string, string | undefined]> = [
    ['an unknown type', detail({ type: 'payment_initiation' })],
    ['an unknown purpose', detail({ purpose: 'marketing' })],
    ['invalid JSON', '[{"type":'],
    ['an object instead of an array', JSON.stringify(HISTORY_DETAIL)],
    ['an empty array', '[]'],
    ['transactions without fields', drop('fields')],
    ['transactions without a period', drop('period')],
    ['a period whose from is after to', detail({ period: { from: '2024-06-01', to: '2024-01-01' } })],
    ['a period with an impossible date', detail({ period: { from: '2024-02-30', to: '2024-03-01' } })],
    ['an unknown field', detail({ fields: ['amount', 'iban'] })],
    ['an unknown member', detail({ share_everything: true })],
    ['locations that are not this resource', detail({ locations: ['https://evil.example/api'] })],
    ['no authorization_details at all', undefined],
    [
      'two transaction_history details',
      JSON.stringify([HISTORY_DETAIL, { ...HISTORY_DETAIL, purpose: 'account_verification' }]),
    ],
  ]
  for (const [name, value] of badDetails) {
    it(`refuses authorization_details with ${name}: invalid_authorization_details`, async () => {
      expect(gm(await par({ authorization_details: value }))).toEqual({
        status: 400,
        error: 'invalid_authorization_details',
      })
    })
  }

  it('refuses a DPoP proof whose key differs from dpop_jkt', async () => {
    const { keys } = await dpopKeys()
    const { jkt } = await dpopKeys()
    const form = {
      response_type: 'code',
      redirect_uri: r.redirectUri,
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256',
      authorization_details: JSON.stringify([HISTORY_DETAIL]),
      dpop_jkt: jkt,
      ...(await clientAuth(r)),
    }
    const proof = await dpopProof(keys, {
      htm: 'POST',
      htu: r.as.pushed_authorization_request_endpoint!,
      nonce: await fetchNonce(r),
    })
    expect(gm(await postForm(r.as.pushed_authorization_request_endpoint!, form, { dpop: proof }))).toEqual({
      status: 400,
      error: 'invalid_dpop_proof',
    })
  })
})

describe('token endpoint requests', () => {
  it('refuses an unsupported grant_type', async () => {
    for (const grant_type of [
      'password',
      'implicit',
      'urn:ietf:params:oauth:grant-type:device_code',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ]) {
      expect(gm(await tokenRequest(r, { grant_type, username: 'alice', password: 'alice' }))).toEqual({
        status: 400,
        error: 'unsupported_grant_type',
      })
    }
  })

  it('refuses client_credentials for any scope but grant management: invalid_scope', async () => {
    for (const scope of ['accounts', 'grant_management_query openid', 'transactions', '']) {
      expect(gm(await tokenRequest(r, { grant_type: 'client_credentials', scope }))).toEqual({
        status: 400,
        error: 'invalid_scope',
      })
    }
    expect(gm(await tokenRequest(r, { grant_type: 'client_credentials' }))).toEqual({
      status: 400,
      error: 'invalid_scope',
    })
  })

  it('refuses a wrong content type, a repeated parameter, and a missing grant_type: invalid_request', async () => {
    const auth = await clientAuth(r)
    const asJson = await fetch(r.as.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...auth, ...MGMT }),
    })
    expect([asJson.status, (await asJson.json()).error]).toEqual([400, 'invalid_request'])
    const noType = await fetch(r.as.token_endpoint!, {
      method: 'POST',
      body: new Blob([new URLSearchParams({ ...auth, ...MGMT }).toString()]),
    })
    expect([noType.status, (await noType.json()).error]).toEqual([400, 'invalid_request'])
    const repeated = `${new URLSearchParams({ ...(await clientAuth(r)), ...MGMT })}&grant_type=authorization_code`
    const rep = await fetch(r.as.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: repeated,
    })
    expect([rep.status, (await rep.json()).error]).toEqual([400, 'invalid_request'])
    expect(gm(await tokenRequest(r, { scope: 'grant_management_query' }))).toEqual({
      status: 400,
      error: 'invalid_request',
    })
  })

  it('refuses a refresh token of another client, and a refresh token with another DPoP key', async () => {
    const linked = await link(holder.issuer, r)
    const rt = linked.tokens.refresh_token!
    expect(
      gm(
        await tokenRequest(
          other,
          { grant_type: 'refresh_token', refresh_token: rt },
          { keys: linked.pending.dpopKeys },
        ),
      ),
    ).toEqual({ status: 400, error: 'invalid_grant' })
    expect(gm(await tokenRequest(r, { grant_type: 'refresh_token', refresh_token: rt }))).toEqual({
      status: 400,
      error: 'invalid_grant',
    })
    // Neither attempt burnt the token (control).
    expect(
      (
        await tokenRequest(
          r,
          { grant_type: 'refresh_token', refresh_token: rt },
          { keys: linked.pending.dpopKeys },
        )
      ).status,
    ).toBe(200)
  })
})

describe('the authorization endpoint', () => {
  const authorizeUrl = (q: Record<string, string>) =>
    `${r.as.authorization_endpoint}?${new URLSearchParams(q)}`
  async function expectErrorPage(url: string) {
    const res = await fetch(url, { redirect: 'manual' })
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const page = await res.text()
    expect(page).not.toContain(REDIRECT_URI)
    return page
  }

  it('shows a 400 page, never a redirect, for a classic (un-pushed) request', async () => {
    await expectErrorPage(
      authorizeUrl({
        response_type: 'code',
        client_id: r.client.client_id,
        redirect_uri: r.redirectUri,
        state: 'xyz',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
      }),
    )
    await expectErrorPage(
      authorizeUrl({ response_type: 'code', client_id: r.client.client_id, redirect_uri: r.redirectUri }),
    )
    await expectErrorPage(`${r.as.authorization_endpoint}`)
  })

  it('refuses a reused request_uri', async () => {
    const pending = await pushRequest(r)
    const first = await fetch(pending.url, { redirect: 'manual' })
    expect(first.status).toBe(303)
    await expectErrorPage(pending.url)
  })

  it('refuses a request_uri presented with another client_id', async () => {
    const pending = await pushRequest(r)
    await expectErrorPage(
      authorizeUrl({ client_id: other.client.client_id, request_uri: pending.requestUri }),
    )
  })

  it('refuses extra parameters beside client_id and request_uri', async () => {
    const pending = await pushRequest(r)
    await expectErrorPage(`${pending.url}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`)
    await expectErrorPage(`${pending.url}&state=x`)
    await expectErrorPage(`${pending.url}&client_id=${other.client.client_id}`)
    // The request_uri was not consumed by the refusals (control: the refusal came from the extra parameter).
    expect((await fetch(pending.url, { redirect: 'manual' })).status).toBe(303)
  })

  it('refuses an unknown request_uri', async () => {
    await expectErrorPage(
      authorizeUrl({ client_id: r.client.client_id, request_uri: 'urn:ietf:params:oauth:request_uri:nope' }),
    )
  })
})

describe('dynamic client registration', () => {
  const reg = (body: unknown, o: { token?: string | null; contentType?: string } = {}) =>
    fetch(r.as.registration_endpoint!, {
      method: 'POST',
      headers: {
        'content-type': o.contentType ?? 'application/json',
        ...(o.token === null ? {} : { authorization: `Bearer ${o.token ?? INITIAL_ACCESS_TOKEN}` }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
  let jwk: Record<string, unknown>
  let privateJwk: Record<string, unknown>
  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    jwk = { ...(await exportJWK(publicKey)), alg: 'ES256', kid: 'k1' }
    privateJwk = { ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'k1' }
  })
  const good = () => ({ client_name: 'Reg Test', redirect_uris: [REDIRECT_URI], jwks: { keys: [jwk] } })
  const expectError = async (res: Response, status: number, error: string) => {
    expect([res.status, (await res.json()).error]).toEqual([status, error])
  }

  it('accepts a correct registration (control)', async () => {
    expect((await reg(good())).status).toBe(201)
  })

  it('refuses a missing or wrong initial access token with 401 invalid_token', async () => {
    await expectError(await reg(good(), { token: null }), 401, 'invalid_token')
    await expectError(await reg(good(), { token: 'wrong-initial-access-token' }), 401, 'invalid_token')
    await expectError(await reg(good(), { token: `${INITIAL_ACCESS_TOKEN}x` }), 401, 'invalid_token')
    const basic = await fetch(r.as.registration_endpoint!, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${btoa(`x:${INITIAL_ACCESS_TOKEN}`)}`,
      },
      body: JSON.stringify(good()),
    })
    await expectError(basic, 401, 'invalid_token')
    expect(basic.headers.get('www-authenticate')).toMatch(/^Bearer/)
  })

  it('refuses malformed JSON, a non-object, and a non-JSON body with invalid_client_metadata', async () => {
    await expectError(await reg('{"client_name":'), 400, 'invalid_client_metadata')
    await expectError(await reg('[1,2]'), 400, 'invalid_client_metadata')
    await expectError(await reg('null'), 400, 'invalid_client_metadata')
    await expectError(
      await reg('client_name=x', { contentType: 'application/x-www-form-urlencoded' }),
      400,
      'invalid_client_metadata',
    )
  })

  for (const uri of [
    'javascript:alert(1)',
    'http://example.com/callback',
    'https://example.com/callback#frag',
    'data:text/html,hi',
    'https://user:pw@example.com/cb',
    '/relative',
  ]) {
    it(`refuses redirect_uri ${uri}: invalid_redirect_uri`, async () => {
      await expectError(await reg({ ...good(), redirect_uris: [uri] }), 400, 'invalid_redirect_uri')
    })
  }

  it('refuses private key material in jwks', async () => {
    await expectError(await reg({ ...good(), jwks: { keys: [privateJwk] } }), 400, 'invalid_client_metadata')
    const { privateKey } = await generateKeyPair('PS256', { extractable: true })
    await expectError(
      await reg({ ...good(), jwks: { keys: [await exportJWK(privateKey)] } }),
      400,
      'invalid_client_metadata',
    )
    await expectError(
      await reg({ ...good(), jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }),
      400,
      'invalid_client_metadata',
    )
  })

  it('refuses both jwks and jwks_uri, and neither', async () => {
    await expectError(
      await reg({ ...good(), jwks_uri: 'https://lender.example/jwks' }),
      400,
      'invalid_client_metadata',
    )
    const { jwks: _, ...none } = good()
    await expectError(await reg(none), 400, 'invalid_client_metadata')
  })

  it('refuses other authentication methods and algorithms', async () => {
    await expectError(
      await reg({ ...good(), token_endpoint_auth_method: 'client_secret_basic' }),
      400,
      'invalid_client_metadata',
    )
    await expectError(
      await reg({ ...good(), token_endpoint_auth_signing_alg: 'RS256' }),
      400,
      'invalid_client_metadata',
    )
    await expectError(
      await reg({ ...good(), jwks: { keys: [{ ...jwk, alg: 'RS256' }] } }),
      400,
      'invalid_client_metadata',
    )
  })
})

describe('request bodies', () => {
  const big = () => `a=${'x'.repeat(70 * 1024)}`

  for (const name of ['token', 'par', 'register'] as const) {
    it(`refuses a body over 64 KiB at /${name} with a 413 OAuth error (declared and streamed)`, async () => {
      const url = `${holder.issuer}/${name}`
      const headers = {
        'content-type': name === 'register' ? 'application/json' : 'application/x-www-form-urlencoded',
        authorization: `Bearer ${INITIAL_ACCESS_TOKEN}`,
      }
      const declared = await fetch(url, { method: 'POST', headers, body: big() })
      expect(declared.status).toBe(413)
      // An OAuth endpoint answers every error as an OAuth JSON error (RFC 6749 §5.2).
      expect(declared.headers.get('content-type')).toBe('application/json')
      expect((await declared.json()).error).toBe('invalid_request')

      const bytes = new TextEncoder().encode(big())
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += 8192) c.enqueue(bytes.slice(i, i + 8192))
          c.close()
        },
      })
      const streamed = await fetch(url, {
        method: 'POST',
        headers,
        body: stream,
        duplex: 'half',
      } as RequestInit)
      expect(streamed.status).toBe(413)
      expect((await streamed.json()).error).toBe('invalid_request')
    })
  }

  it('refuses a body that is not UTF-8 at /par: invalid_request', async () => {
    const body = Buffer.concat([Buffer.from('response_type=code&state='), Buffer.from([0xc3, 0x28, 0xff])])
    const res = await fetch(r.as.pushed_authorization_request_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    expect([res.status, (await res.json()).error]).toEqual([400, 'invalid_request'])
  })

  it('refuses a repeated parameter at /par and /introspect: invalid_request', async () => {
    for (const endpoint of [r.as.pushed_authorization_request_endpoint!, r.as.introspection_endpoint!]) {
      const body = `${new URLSearchParams({ ...(await clientAuth(r)), token: 'a' })}&client_assertion=x`
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      })
      expect([res.status, (await res.json()).error]).toEqual([400, 'invalid_request'])
    }
  })
})

describe('grant management', () => {
  let grantId: string
  beforeAll(async () => {
    const linked = await link(holder.issuer, r)
    grantId = (linked.tokens as unknown as { grant_id: string }).grant_id
  })
  const grantUrl = (id: string) => `${holder.issuer}/grants/${id}`
  async function call(t: { at: string; keys: CryptoKeyPair }, method: string, id = grantId) {
    const proof = await dpopProof(t.keys, {
      htm: method,
      htu: grantUrl(id),
      nonce: await fetchNonce(r),
      accessToken: t.at,
    })
    return resourceCall(grantUrl(id), { method, authorization: `DPoP ${t.at}`, proof })
  }

  it('answers another client’s grant with 404, for GET and DELETE, and leaves it alone', async () => {
    const t = await managementToken(other, 'grant_management_query grant_management_revoke')
    for (const method of ['GET', 'DELETE']) {
      const res = await call(t, method)
      expect([res.status, res.headers.get('content-type')]).toEqual([404, 'application/problem+json'])
      expect((await res.json()).code).toBe('not_found')
    }
    const mine = await call(await managementToken(r, 'grant_management_query'), 'GET')
    expect(mine.status).toBe(200)
    expect((await mine.json()).status).toBe('active')
  })

  it('refuses DELETE without grant_management_revoke: 403 insufficient_scope', async () => {
    const t = await managementToken(r, 'grant_management_query')
    const res = await call(t, 'DELETE')
    expect(res.status).toBe(403)
    expect(challenge(res)).toBe('insufficient_scope')
    const still = await call(t, 'GET')
    expect((await still.json()).status).toBe('active')
  })

  it('refuses GET without grant_management_query: 403 insufficient_scope', async () => {
    const t = await managementToken(r, 'grant_management_revoke')
    const res = await call(t, 'GET')
    expect(res.status).toBe(403)
    expect(challenge(res)).toBe('insufficient_scope')
  })

  it('refuses a grant’s own access token at grant management: invalid_token', async () => {
    const linked = await link(holder.issuer, r)
    const res = await call({ at: linked.tokens.access_token, keys: linked.pending.dpopKeys }, 'GET')
    expect([res.status, challenge(res)]).toEqual([401, 'invalid_token'])
  })
})

describe('the login form', () => {
  it('answers a wrong password with a 401 page and an alert, without echoing the password', async () => {
    const browser = new FormBrowser()
    const pageRes = await browser.request(`${holder.issuer}/login`)
    const page = await pageRes.text()
    const password = 'Sup3r-Secret-Passw0rd-Never-Echoed'
    const res = await browser.request(formAction(page, `${holder.issuer}/login`), {
      form: { csrf: hiddenInput(page, 'csrf'), username: 'alice', password },
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.getSetCookie().some((c) => c.startsWith('consentry-session='))).toBe(false)
    const body = await res.text()
    expect(body).toMatch(/role="alert"/)
    expect(body).not.toContain(password)
  })

  it('refuses a login without the CSRF token (403 page), even with the right password', async () => {
    const res = await fetch(`${holder.issuer}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice',
      redirect: 'manual',
    })
    expect(res.status).toBe(403)
    expect(res.headers.getSetCookie().some((c) => c.startsWith('consentry-session='))).toBe(false)
  })
})

// ---------------------------------------------------------------------------------------------------

/** Secrets sent in the garbage: none may come back in any response body. */
const SECRET_TOKEN = 'eyJzZWNyZXQtdG9rZW4tbmV2ZXItZWNob2Vk.c2VjcmV0.U0VDUkVUVE9LRU4'
const SECRET_PASSWORD = 'P4ssw0rd-never-to-be-echoed'
const SECRET_REFRESH = 'rt-secret-never-echoed-0123456789'

const ROUTES = [
  '/.well-known/oauth-authorization-server',
  '/jwks',
  '/register',
  '/par',
  '/authorize',
  '/authorize/xyz',
  '/token',
  '/revoke',
  '/introspect',
  '/grants/xyz',
  '/login',
  '/logout',
  '/consents',
  '/consents/xyz',
  '/assets/x',
  '/api/accounts',
  '/api/accounts/x/transactions?limit=abc&from=2020-13-45&cursor=%%%',
  '/nope',
]

interface Garbage {
  name: string
  headers?: Record<string, string>
  body?: Buffer | string
  path?: (p: string) => string
}

const randomBytes = Buffer.from(crypto.getRandomValues(new Uint8Array(4096)))
const GARBAGE: Garbage[] = [
  { name: 'nothing' },
  {
    name: 'random bytes body',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: randomBytes,
  },
  { name: 'random bytes as JSON', headers: { 'content-type': 'application/json' }, body: randomBytes },
  { name: 'random bytes, no content type', body: randomBytes },
  {
    name: 'invalid UTF-8 form',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: Buffer.concat([
      Buffer.from(`password=${SECRET_PASSWORD}&token=${SECRET_TOKEN}&x=`),
      Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe]),
    ]),
  },
  {
    name: 'JSON where a form is expected',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'refresh_token',
      refresh_token: SECRET_REFRESH,
      password: SECRET_PASSWORD,
      token: SECRET_TOKEN,
    }),
  },
  {
    name: 'form where JSON is expected',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${SECRET_TOKEN}` },
    body: `client_name=x&password=${SECRET_PASSWORD}&redirect_uris=javascript:1`,
  },
  {
    name: 'secrets in a well-formed form',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: SECRET_REFRESH,
      token: SECRET_TOKEN,
      password: SECRET_PASSWORD,
      username: 'alice',
      code: SECRET_TOKEN,
      client_assertion_type: JWT_BEARER,
      client_assertion: SECRET_TOKEN,
      csrf: 'x',
    }).toString(),
  },
  {
    name: 'deeply nested JSON',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
    body: `${'['.repeat(5000)}${']'.repeat(5000)}`,
  },
  {
    name: 'JSON with wrong types',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
    body: JSON.stringify({
      client_name: { $gt: '' },
      redirect_uris: 'x',
      jwks: { keys: 'x' },
      __proto__: { admin: true },
      constructor: 1,
    }),
  },
  { name: 'Authorization: DPoP junk', headers: { authorization: `DPoP ${SECRET_TOKEN}`, dpop: 'junk' } },
  {
    name: 'Authorization: DPoP with spaces and bytes',
    headers: { authorization: `DPoP ${SECRET_TOKEN} \xff\xfe extra` },
  },
  { name: 'Authorization: Bearer junk', headers: { authorization: `Bearer ${SECRET_TOKEN}` } },
  { name: 'Authorization: Basic junk', headers: { authorization: 'Basic !!!notbase64' } },
  {
    name: 'DPoP header of junk',
    headers: { authorization: `DPoP ${SECRET_TOKEN}`, dpop: `${SECRET_TOKEN}.${SECRET_TOKEN}` },
  },
  {
    name: 'DPoP header with a JSON jwk bomb',
    headers: {
      dpop: `${Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-999', x: 'a', y: 'b' } })).toString('base64url')}.e30.sig`,
    },
  },
  {
    name: 'huge header value (under the limit)',
    headers: { 'x-junk': 'x'.repeat(12_000), authorization: `DPoP ${'A'.repeat(3000)}` },
  },
  { name: 'huge header value (over the limit)', headers: { 'x-junk': 'x'.repeat(40_000) } },
  {
    name: 'invalid UTF-8 in headers',
    headers: {
      authorization: `Bearer \xc3\x28${SECRET_TOKEN}`,
      cookie: 'consentry-session=\xff\xfe; consentry-interaction=\xc3\x28',
      'x-fapi-customer-ip-address': '\xff',
    },
  },
  {
    name: 'junk cookies',
    headers: {
      cookie:
        'consentry-session=a.b; consentry-interaction=!!; consentry-login-csrf=%%%; __Secure-consentry-session=x',
    },
  },
  {
    name: 'a declared length that lies',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '99999999' },
  },
  {
    name: 'odd content type',
    headers: { 'content-type': 'multipart/form-data; boundary=--x' },
    body: '----x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n----x--',
  },
  {
    name: 'query garbage',
    path: (p) =>
      `${p}${p.includes('?') ? '&' : '?'}return_to=%2F%2Fevil.example&client_id=%00&request_uri=${'%41'.repeat(2000)}&x=%E0%A4%A`,
  },
]

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND', 'FOO']

function checkResponse(what: string, res: RawResponse) {
  const problems: string[] = []
  if (res.status >= 500) problems.push(`status ${res.status}`)
  const text = res.body.toString('latin1')
  for (const secret of [SECRET_TOKEN, SECRET_PASSWORD, SECRET_REFRESH])
    if (text.includes(secret)) problems.push(`echoes a secret`)
  if (res.status >= 400 && res.body.length > 0) {
    const type = String(res.headers['content-type'] ?? '')
    if (/^application\/(problem\+)?json/.test(type)) {
      try {
        const body = JSON.parse(res.body.toString('utf8'))
        if (typeof body.error !== 'string' && typeof body.code !== 'string')
          problems.push('JSON error without error/code')
        if (type.startsWith('application/problem+json') && body.status !== res.status)
          problems.push('problem status mismatch')
      } catch {
        problems.push('unparseable JSON error body')
      }
    } else if (!type.startsWith('text/html')) {
      problems.push(`error body of type "${type}"`)
    }
  }
  return problems.length ? `${what} → ${res.status}: ${problems.join(', ')}` : null
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn))
}

describe('garbage at every route', () => {
  it('never answers 5xx, answers errors as JSON / problem+json / HTML, and never echoes a secret', async () => {
    const failures: string[] = []
    const jobs: Array<{ route: string; method: string; g: Garbage }> = []
    for (const route of ROUTES)
      for (const method of METHODS) for (const g of GARBAGE) jobs.push({ route, method, g })
    await inBatches(jobs, 24, async ({ route, method, g }) => {
      const path = g.path ? g.path(route) : route
      const body = method === 'GET' || method === 'HEAD' ? undefined : g.body
      const res = await rawRequest(holder.issuer, { method, path, headers: g.headers ?? {}, body })
      const problem = checkResponse(`${method} ${path.slice(0, 80)} [${g.name}]`, res)
      if (problem) failures.push(problem)
    })
    expect(failures).toEqual([])
    expect(jobs.length).toBeGreaterThan(2500)
  }, 180_000)

  it('survives garbage at the API with a valid token too', async () => {
    const linked = await link(holder.issuer, r)
    const at = linked.tokens.access_token
    const failures: string[] = []
    for (const path of [
      '/accounts',
      '/accounts/acc_alice_wallet/transactions',
      '/accounts/%00/transactions',
      '/accounts/a%2Fb/transactions',
      '/accounts//transactions',
      '/nope',
    ]) {
      for (const query of [
        '',
        '?limit=abc&from=2020-13-45&cursor=%%%',
        `?cursor=${'A'.repeat(3000)}.x`,
        '?limit=1e3&to=9999-99-99',
        '?from=2024-01-01&from=2024-02-01',
      ]) {
        const url = `${resource}${path}`
        const proof = await dpopProof(linked.pending.dpopKeys, {
          htm: 'GET',
          htu: url,
          nonce: await fetchNonce(r),
          accessToken: at,
        })
        const res = await rawRequest(holder.issuer, {
          method: 'GET',
          path: new URL(url).pathname + query,
          headers: { authorization: `DPoP ${at}`, dpop: proof, 'x-fapi-customer-ip-address': '203.0.113.9' },
        })
        const problem = checkResponse(`GET ${path}${query}`, res)
        if (problem) failures.push(problem)
        if (res.status < 400 && res.status !== 200) failures.push(`GET ${path}${query} → ${res.status}`)
      }
    }
    expect(failures).toEqual([])
  }, 60_000)

  // Regression: the router once let decodeURIComponent's URIError through as a 500.
  it('answers malformed percent-escapes in path parameters with a 4xx', async () => {
    const failures: string[] = []
    for (const path of [
      '/authorize/%E0%A4%A',
      '/grants/%ff',
      '/authorize/%',
      '/consents/%E0%A4%A',
      '/api/accounts/%E0%A4%A/transactions',
      '/assets/%ff',
    ]) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const res = await rawRequest(holder.issuer, {
          method,
          path,
          headers: { authorization: 'DPoP abc', dpop: 'x' },
        })
        const problem = checkResponse(`${method} ${path}`, res)
        if (problem) failures.push(problem)
      }
    }
    expect(failures).toEqual([])
  })
  // Regression: readCookie once let decodeURIComponent's URIError through as a 500.
  it('answers malformed percent-escapes in cookies with a 4xx or a page', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    const failures: string[] = []
    for (const [method, path, cookie, body] of [
      ['GET', '/consents', 'consentry-session=%E0%A4%A'],
      ['GET', '/consents/xyz', 'consentry-session=%'],
      ['GET', '/authorize/xyz', 'consentry-interaction=%'],
      ['POST', '/login', 'consentry-login-csrf=%%%', 'csrf=x&username=alice&password=x'],
      ['POST', '/logout', 'consentry-session=%', 'csrf=x'],
    ] as const) {
      const res = await rawRequest(holder.issuer, {
        method,
        path,
        headers: { cookie, ...(body ? form : {}) },
        ...(body ? { body } : {}),
      })
      const problem = checkResponse(`${method} ${path} (${cookie})`, res)
      if (problem) failures.push(problem)
    }
    expect(failures).toEqual([])
  })
})
