/**
 * Protocol and consent-enforcement holes from the adversarial review (issue 9), over real HTTP. Each
 * test fails if its hole reopens, and most carry a positive control proving the request would have
 * passed but for the check under test:
 * - client assertions: `aud` only as a string (an array, even `[issuer]`, is refused), `iat` required;
 * - DPoP `htu`: scheme and host case-insensitive, the path exact;
 * - `DPoP-Nonce` on every response of the token endpoint and the API, errors included;
 * - an authorization code presented by another client, or without a verifier, is not consumed;
 * - pairwise `sub`: per recipient, stable across links and instances;
 * - `x-fapi-customer-ip-address` validated, attended reads capped, account reads counted;
 * - cursors expire.
 */

import { memoryStore, type Store } from '@consentry/server'
import { decodeJwt, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { Lru } from '../packages/server/src/util/lru.ts'
import {
  challenge,
  clientAuth,
  dpopKeys,
  dpopProof,
  fetchNonce,
  gm,
  JWT_BEARER,
  postForm,
  randomId,
  rawRequest,
} from './helpers/raw.ts'
import {
  browserFor,
  consent,
  HISTORY_DETAIL,
  link,
  pushRequest,
  type Recipient,
  registerRecipient,
  resourceGet,
} from './helpers/recipient.ts'

const PRESENT = { 'x-fapi-customer-ip-address': '203.0.113.7' }

let store: Store
let holder: HarborPay
let r: Recipient
let other: Recipient
let resource: string

beforeAll(async () => {
  store = memoryStore()
  holder = await startHarborPay({ store, port: 0, publicHost: '127.0.0.1', maintenance: false })
  r = await registerRecipient(holder.issuer)
  other = await registerRecipient(holder.issuer, { name: 'Other Lender' })
  resource = holder.server.urls.resource
})
afterAll(() => holder.close())

const nowS = () => Math.floor(Date.now() / 1000)

/** A token request with a correct assertion for `client` and (unless `proof: null`) a nonce'd proof. */
async function tokenRequest(
  client: Recipient,
  form: Record<string, string>,
  o: { proof?: string | null; keys?: CryptoKeyPair; htu?: string } = {},
) {
  let proof = o.proof
  if (proof === undefined) {
    const keys = o.keys ?? (await dpopKeys()).keys
    proof = await dpopProof(keys, {
      htm: 'POST',
      htu: o.htu ?? client.as.token_endpoint!,
      nonce: await fetchNonce(client),
    })
  }
  return postForm(
    client.as.token_endpoint!,
    { ...(await clientAuth(client)), ...form },
    proof === null ? {} : { dpop: proof },
  )
}

/** PAR → login → consent; the code from the callback, not yet exchanged. */
async function codeFor(client: Recipient) {
  const pending = await pushRequest(client)
  const answer = await consent(holder.issuer, pending)
  expect(answer.status).toBe(303)
  const callback = new URL(answer.location!)
  return { pending, code: callback.searchParams.get('code')! }
}

const codeForm = (client: Recipient, c: Awaited<ReturnType<typeof codeFor>>) => ({
  grant_type: 'authorization_code',
  code: c.code,
  redirect_uri: client.redirectUri,
  code_verifier: c.pending.verifier,
})

async function introspect(client: Recipient, token: string, endpoint = client.as.introspection_endpoint!) {
  const { status, body } = await postForm(endpoint, { token, ...(await clientAuth(client)) })
  expect(status).toBe(200)
  return body!
}

/** A linked grant: its access token, DPoP keys and handle, grant id and the token response. */
async function linked(client: Recipient = r, details: unknown[] = [HISTORY_DETAIL], h = holder) {
  const l = await link(h.issuer, client, details)
  const tokens = l.tokens as typeof l.tokens & { grant_id: string; consent_receipt: string }
  return { at: tokens.access_token, keys: l.pending.dpopKeys, DPoP: l.DPoP, grantId: tokens.grant_id, tokens }
}

/**
 * A hand-built API call: a nonce'd proof for `htu` (default: the URL without its query) signed at
 * the server's time (`skewS` ahead of this clock), over fetch.
 */
async function api(
  g: { at: string; keys: CryptoKeyPair },
  path: string,
  o: {
    headers?: Record<string, string>
    htu?: string
    skewS?: number
    client?: Recipient
    base?: string
  } = {},
) {
  const url = `${o.base ?? resource}${path}`
  const proof = await dpopProof(g.keys, {
    htm: 'GET',
    htu: o.htu ?? url.split('?')[0]!,
    nonce: await fetchNonce(o.client ?? r, { skew: o.skewS ?? 0 }),
    accessToken: g.at,
    iat: nowS() + (o.skewS ?? 0),
  })
  return fetch(url, { headers: { authorization: `DPoP ${g.at}`, dpop: proof, ...o.headers } })
}

// ---------------------------------------------------------------------------------------------------

describe('client assertions: aud is the issuer as a string, iat is required', () => {
  const introspectWith = async (form: Record<string, string>) =>
    postForm(r.as.introspection_endpoint!, { token: 'x', ...form })

  /** An assertion signed with r's key, claims exactly as given (nothing filled in). */
  const assertion = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(r.privateKey)
  const form = async (claims: Record<string, unknown>) => ({
    client_id: r.client.client_id,
    client_assertion_type: JWT_BEARER,
    client_assertion: await assertion(claims),
  })
  const claims = () => ({
    iss: r.client.client_id,
    sub: r.client.client_id,
    aud: r.as.issuer,
    jti: randomId(),
    iat: nowS(),
    exp: nowS() + 60,
  })

  it('accepts aud as the issuer string (control) and refuses an array holding only the issuer', async () => {
    expect((await introspectWith(await clientAuth(r, { aud: r.as.issuer }))).status).toBe(200)
    expect(gm(await introspectWith(await clientAuth(r, { aud: [r.as.issuer] })))).toEqual({
      status: 401,
      error: 'invalid_client',
    })
    // …at the token endpoint too (a nonce'd, valid DPoP proof: only the assertion is wrong).
    const { keys } = await dpopKeys()
    const proof = await dpopProof(keys, {
      htm: 'POST',
      htu: r.as.token_endpoint!,
      nonce: await fetchNonce(r),
    })
    const answer = await postForm(
      r.as.token_endpoint!,
      {
        grant_type: 'client_credentials',
        scope: 'grant_management_query',
        ...(await clientAuth(r, { aud: [r.as.issuer] })),
      },
      { dpop: proof },
    )
    expect(gm(answer)).toEqual({ status: 401, error: 'invalid_client' })
  })

  it('refuses an assertion without iat, and one whose iat is far in the past or the future', async () => {
    expect((await introspectWith(await form(claims()))).status).toBe(200) // control: same builder
    const { iat: _iat, ...noIat } = claims()
    expect(gm(await introspectWith(await form(noIat)))).toEqual({ status: 401, error: 'invalid_client' })
    for (const iat of [nowS() - 3600, nowS() + 3600])
      expect(gm(await introspectWith(await form({ ...claims(), iat })))).toEqual({
        status: 401,
        error: 'invalid_client',
      })
  })
})

describe('DPoP htu: scheme and host case-insensitive, path exact', () => {
  let g: Awaited<ReturnType<typeof linked>>
  beforeAll(async () => {
    g = await linked()
  })

  it('refuses a proof whose htu path differs only in case (resource and token endpoint)', async () => {
    const upper = `${holder.issuer}/API/ACCOUNTS`
    const res = await api(g, '/accounts', { htu: upper })
    expect([res.status, challenge(res)]).toEqual([401, 'invalid_dpop_proof'])
    const mixed = await api(g, '/accounts', { htu: `${resource}/Accounts` })
    expect([mixed.status, challenge(mixed)]).toEqual([401, 'invalid_dpop_proof'])
    const token = await tokenRequest(
      r,
      { grant_type: 'client_credentials', scope: 'grant_management_query' },
      { htu: r.as.token_endpoint!.replace('/token', '/TOKEN') },
    )
    expect(gm(token)).toEqual({ status: 400, error: 'invalid_dpop_proof' })
  })

  it('accepts an upper-case scheme, an explicit default-free host form and %-encoded unreserved characters (controls)', async () => {
    const { host } = new URL(holder.issuer)
    for (const htu of [
      `${resource}/accounts`,
      `HTTP://${host}/api/accounts`,
      `${resource}/%61ccounts`, // %61 is "a": the same URI after RFC 3986 §6.2.2.2 normalisation
      `${resource}/accounts?ignored=1#and-this`,
    ]) {
      const res = await api(g, '/accounts', { htu, headers: PRESENT })
      expect({ htu, status: res.status }).toEqual({ htu, status: 200 })
    }
  })

  it('keeps imported DPoP keys in a bounded LRU (least recently used out)', () => {
    const lru = new Lru<string, number>(2)
    lru.set('a', 1).set('b', 2)
    expect(lru.get('a')).toBe(1) // a is now the most recent
    lru.set('c', 3)
    expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.size]).toEqual([1, undefined, 3, 2])
    expect(lru.delete('a')).toBe(true)
    expect(lru.size).toBe(1)
    expect(() => new Lru(0)).toThrow(RangeError)
  })
})

describe('DPoP-Nonce on every response of the token endpoint and the API', () => {
  let g: Awaited<ReturnType<typeof linked>>
  beforeAll(async () => {
    g = await linked()
  })
  const nonceOf = (res: Response | { headers: Headers }) => res.headers.get('dpop-nonce')

  it('on API errors: 400, 401, 403, 404, 405 and 429 — and on 200', async () => {
    const cases: Array<[string, number, Record<string, string>?]> = [
      ['/accounts', 200],
      ['/accounts/acc_alice_wallet/transactions?limit=abc', 400],
      ['/accounts', 400, { 'x-fapi-customer-ip-address': 'not-an-ip' }],
      ['/accounts/acc_bob_wallet/transactions', 403],
      ['/nope', 404],
    ]
    for (const [path, status, headers] of cases) {
      const res = await api(g, path, { headers: { ...PRESENT, ...headers } })
      expect({ path, status: res.status, nonce: Boolean(nonceOf(res)) }).toEqual({
        path,
        status,
        nonce: true,
      })
    }
    const unauthenticated = await fetch(`${resource}/accounts`)
    expect([unauthenticated.status, Boolean(nonceOf(unauthenticated))]).toEqual([401, true])
    const post = await fetch(`${resource}/accounts`, { method: 'POST' })
    expect([post.status, Boolean(nonceOf(post))]).toEqual([405, true])
    // 429: use up the day's unattended reads of a fresh grant.
    const h = await linked()
    for (let i = 0; i < HISTORY_DETAIL.max_reads_per_day; i++)
      expect((await resourceGet(h.at, `${resource}/accounts`, h.DPoP)).status).toBe(200)
    const limited = await resourceGet(h.at, `${resource}/accounts`, h.DPoP)
    expect([limited.status, Boolean(nonceOf(limited))]).toEqual([429, true])
  })

  it('on token endpoint errors (400, 401, 405) and success', async () => {
    const mgmt = { grant_type: 'client_credentials', scope: 'grant_management_query' }
    const ok = await tokenRequest(r, mgmt)
    expect([ok.status, Boolean(nonceOf(ok.res))]).toEqual([200, true])
    const answers = [
      await tokenRequest(r, {
        grant_type: 'authorization_code',
        code: 'nope',
        code_verifier: 'x'.repeat(43),
      }),
      await tokenRequest(r, { grant_type: 'password' }),
      await tokenRequest(r, mgmt, { proof: null }),
      await postForm(r.as.token_endpoint!, mgmt), // no client authentication: 401
    ]
    expect(answers.map((a) => [a.status, a.body?.error, Boolean(nonceOf(a.res))])).toEqual([
      [400, 'invalid_grant', true],
      [400, 'unsupported_grant_type', true],
      [400, 'invalid_dpop_proof', true],
      [401, 'invalid_client', true],
    ])
    const get = await fetch(r.as.token_endpoint!)
    expect([get.status, Boolean(nonceOf(get))]).toEqual([405, true])
  })

  it('the nonce handed out with an error is accepted by the next request', async () => {
    const refused = await fetch(`${resource}/nope`)
    const nonce = nonceOf(refused)!
    const proof = await dpopProof(g.keys, {
      htm: 'GET',
      htu: `${resource}/accounts`,
      nonce,
      accessToken: g.at,
    })
    const res = await fetch(`${resource}/accounts`, {
      headers: { authorization: `DPoP ${g.at}`, dpop: proof, ...PRESENT },
    })
    expect(res.status).toBe(200)
  })
})

describe('authorization codes: only the owning client consumes them', () => {
  it('another client presenting the code is refused, the code stays unused and the owner redeems it', async () => {
    const c = await codeFor(r)
    const stolen = await tokenRequest(other, codeForm(r, c), { keys: c.pending.dpopKeys })
    expect(gm(stolen)).toEqual({ status: 400, error: 'invalid_grant' })

    const owner = await tokenRequest(r, codeForm(r, c), { keys: c.pending.dpopKeys })
    expect(owner.status).toBe(200)
    const grantId = owner.body!.grant_id as string
    expect((await introspect(r, owner.body!.access_token as string)).active).toBe(true)
    expect((await holder.server.store.getGrant(grantId))?.status).toBe('active')

    // The other client presenting it again (now used) is not "reuse": the owner's grant stands.
    const late = await tokenRequest(other, codeForm(r, c), { keys: c.pending.dpopKeys })
    expect(gm(late)).toEqual({ status: 400, error: 'invalid_grant' })
    expect((await holder.server.store.getGrant(grantId))?.status).toBe('active')
    expect((await introspect(r, owner.body!.refresh_token as string)).active).toBe(true)
    expect(await holder.server.audit.list({ grantId, types: ['code.reused'] })).toEqual([])
  })

  it('a request without code_verifier is refused (invalid_request) and does not consume the code', async () => {
    const c = await codeFor(r)
    const { code_verifier: _v, ...withoutVerifier } = codeForm(r, c)
    const missing = await tokenRequest(r, withoutVerifier, { keys: c.pending.dpopKeys })
    expect(gm(missing)).toEqual({ status: 400, error: 'invalid_request' })
    const malformed = await tokenRequest(
      r,
      { ...withoutVerifier, code_verifier: 'short' },
      { keys: c.pending.dpopKeys },
    )
    expect(gm(malformed)).toEqual({ status: 400, error: 'invalid_request' })

    const owner = await tokenRequest(r, codeForm(r, c), { keys: c.pending.dpopKeys })
    expect(owner.status).toBe(200)
    expect((await holder.server.store.getGrant(owner.body!.grant_id as string))?.status).toBe('active')
  })

  it('reuse by the owning client still revokes the grant (control)', async () => {
    const c = await codeFor(r)
    const first = await tokenRequest(r, codeForm(r, c), { keys: c.pending.dpopKeys })
    expect(first.status).toBe(200)
    const again = await tokenRequest(r, codeForm(r, c), { keys: c.pending.dpopKeys })
    expect(gm(again)).toEqual({ status: 400, error: 'invalid_grant' })
    expect((await holder.server.store.getGrant(first.body!.grant_id as string))?.status).toBe('revoked')
  })
})

describe('pairwise subject identifiers', () => {
  it('two recipients see different subs for one person; one recipient sees the same sub on every link', async () => {
    const a1 = await linked(r)
    const a2 = await linked(r)
    const b = await linked(other)
    const sub = (at: string) => decodeJwt(at).sub
    expect(sub(a1.at)).toBe(sub(a2.at))
    expect(sub(a1.at)).not.toBe(sub(b.at))
    for (const s of [sub(a1.at), sub(b.at)]) {
      expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(s).not.toContain('alice')
    }
    // Introspection (access and refresh token) and the consent receipt say the same.
    expect((await introspect(r, a1.at)).sub).toBe(sub(a1.at))
    expect((await introspect(r, a1.tokens.refresh_token!)).sub).toBe(sub(a1.at))
    expect((await introspect(other, b.tokens.refresh_token!)).sub).toBe(sub(b.at))
    expect(decodeJwt(a1.tokens.consent_receipt).sub).toBe(sub(a1.at))
    expect(decodeJwt(b.tokens.consent_receipt).sub).toBe(sub(b.at))
    // Another person at the same recipient: another sub.
    const pending = await pushRequest(r)
    const answer = await consent(holder.issuer, pending, { username: 'bob', password: 'bob' })
    const bobTokens = await tokenRequest(
      r,
      {
        grant_type: 'authorization_code',
        code: new URL(answer.location!).searchParams.get('code')!,
        redirect_uri: r.redirectUri,
        code_verifier: pending.verifier,
      },
      { keys: pending.dpopKeys },
    )
    expect(bobTokens.status).toBe(200)
    expect(sub(bobTokens.body!.access_token as string)).not.toBe(sub(a1.at))
    // The API still serves the person behind the grant (the server uses the stored subject).
    const accounts = await resourceGet(a1.at, `${resource}/accounts`, a1.DPoP, PRESENT)
    expect((await accounts.json()).data.map((x: { id: string }) => x.id)).toContain('acc_alice_wallet')
  })

  it('is stable across instances sharing the store (and so across restarts)', async () => {
    const a = await linked(r)
    const second = await startHarborPay({ store, port: 0, issuer: holder.issuer, maintenance: false })
    try {
      const viaSecond = `http://127.0.0.1:${second.port}/introspect`
      expect((await introspect(r, a.tokens.refresh_token!, viaSecond)).sub).toBe(decodeJwt(a.at).sub)
    } finally {
      await second.close()
    }
  })
})

describe('x-fapi-customer-ip-address and the read limits', () => {
  it('refuses a value that is not one IP address with 400 invalid_parameter', async () => {
    const g = await linked()
    for (const value of [
      'not-an-ip',
      '203.0.113',
      '203.0.113.7:443',
      '203.0.113.007',
      '2001:db8::zz',
      'fe80::1%eth0',
      '203.0.113.7, 203.0.113.8',
      '',
    ]) {
      const res = await api(g, '/accounts', { headers: { 'x-fapi-customer-ip-address': value } })
      expect({ value, status: res.status, type: res.headers.get('content-type') }).toEqual({
        value,
        status: 400,
        type: 'application/problem+json',
      })
      expect((await res.json()).code).toBe('invalid_parameter')
    }
    // The header sent twice (two header lines) is refused too.
    const path = '/accounts'
    const proof = await dpopProof(g.keys, {
      htm: 'GET',
      htu: `${resource}${path}`,
      nonce: await fetchNonce(r),
      accessToken: g.at,
    })
    const twice = await rawRequest(holder.issuer, {
      method: 'GET',
      path: `/api${path}`,
      headers: {
        authorization: `DPoP ${g.at}`,
        dpop: proof,
        'x-fapi-customer-ip-address': ['203.0.113.7', '203.0.113.8'] as unknown as string,
      },
    })
    expect(twice.status).toBe(400)
    expect(JSON.parse(twice.body.toString()).code).toBe('invalid_parameter')
    // Controls: IPv4, IPv6 and IPv4-mapped IPv6 are accepted.
    for (const value of ['203.0.113.7', '2001:db8::1', '::ffff:203.0.113.7'])
      expect((await api(g, '/accounts', { headers: { 'x-fapi-customer-ip-address': value } })).status).toBe(
        200,
      )
  })

  it('caps attended reads (default 50 per grant per day) apart from unattended ones, and logs them as the app’s claim', async () => {
    const g = await linked()
    const read = (i: number) =>
      resourceGet(
        g.at,
        i % 2 ? `${resource}/accounts` : `${resource}/accounts/acc_alice_wallet/transactions?limit=1`,
        g.DPoP,
        PRESENT,
      )
    for (let i = 0; i < 50; i++) expect((await read(i)).status).toBe(200)
    const over = await read(50)
    expect(over.status).toBe(429)
    const retry = Number(over.headers.get('retry-after'))
    expect(retry).toBeGreaterThan(86_000)
    expect(retry).toBeLessThanOrEqual(86_400)
    expect((await over.json()).code).toBe('read_limit_exceeded')
    const refused = await holder.server.audit.list({ grantId: g.grantId, types: ['data.read_refused'] })
    expect(refused.map((e) => e.data.attended)).toEqual([true])
    // Unattended reads have their own (consented) budget, untouched by the attended ones.
    expect((await resourceGet(g.at, `${resource}/accounts`, g.DPoP)).status).toBe(200)

    // The person's access log words attended reads as the recipient's claim.
    const page = await (
      await browserFor(holder.issuer).request(`${holder.issuer}/consents/${g.grantId}`)
    ).text()
    expect(page).toContain('the app said you were using it')
    expect(page).not.toContain('while you used the app')
  })

  it('honours attendedReadsPerDay', async () => {
    const small = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { attendedReadsPerDay: 2 },
    })
    try {
      const rs = await registerRecipient(small.issuer)
      const g = await linked(rs, [HISTORY_DETAIL], small)
      const read = () => resourceGet(g.at, `${small.issuer}/api/accounts`, g.DPoP, PRESENT)
      // Counted with the proof's jti and the grant (one store step), and given back when the request
      // is then refused: an unknown route, a bad person-present header, a scope outside the consent.
      const refused = await Promise.all([
        resourceGet(g.at, `${small.issuer}/api/nope`, g.DPoP, PRESENT),
        resourceGet(g.at, `${small.issuer}/api/accounts`, g.DPoP, { 'x-fapi-customer-ip-address': 'me' }),
        resourceGet(g.at, `${small.issuer}/api/accounts/acc_bob_wallet/transactions`, g.DPoP, PRESENT),
      ])
      expect(refused.map((r) => r.status)).toEqual([404, 400, 403])
      expect([(await read()).status, (await read()).status, (await read()).status]).toEqual([200, 200, 429])
    } finally {
      await small.close()
    }
  })

  it('a store failing to give a refused read back leaves the refusal as it was, and reports it', async () => {
    const reported: unknown[] = []
    const store = memoryStore()
    const small = await startHarborPay({
      store: {
        ...store,
        releaseReadQuota: async () => {
          throw new Error('store unavailable')
        },
      },
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { attendedReadsPerDay: 2, onError: (e) => reported.push(e) },
    })
    try {
      const rs = await registerRecipient(small.issuer)
      const g = await linked(rs, [HISTORY_DETAIL], small)
      const refused = await resourceGet(g.at, `${small.issuer}/api/nope`, g.DPoP, PRESENT)
      expect(refused.status).toBe(404)
      expect((await refused.json()).code).toBe('not_found')
      expect(reported.map((e) => (e as Error).message)).toEqual(['store unavailable'])
      // The read it could not give back stays counted: one more attended read, then the limit.
      const read = () => resourceGet(g.at, `${small.issuer}/api/accounts`, g.DPoP, PRESENT)
      expect([(await read()).status, (await read()).status]).toEqual([200, 429])
    } finally {
      await small.close()
    }
  })

  it('counts unattended account and balance reads against the consented daily limit', async () => {
    const g = await linked() // max_reads_per_day: 4, balances consented
    for (let i = 0; i < HISTORY_DETAIL.max_reads_per_day; i++) {
      const res = await resourceGet(g.at, `${resource}/accounts`, g.DPoP)
      expect(res.status).toBe(200)
      expect((await res.json()).data[0].balance).toBeDefined()
    }
    const fifth = await resourceGet(g.at, `${resource}/accounts`, g.DPoP)
    expect(fifth.status).toBe(429)
    expect(Number(fifth.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await fifth.json()).code).toBe('read_limit_exceeded')
    // The same budget as listings: a listing is refused now too.
    const listing = await resourceGet(g.at, `${resource}/accounts/acc_alice_wallet/transactions`, g.DPoP)
    expect(listing.status).toBe(429)
    const refused = await holder.server.audit.list({ grantId: g.grantId, types: ['data.read_refused'] })
    expect(refused.map((e) => [e.data.resource, e.data.attended])).toEqual([
      ['accounts', false],
      ['transactions', false],
    ])
    // An attended read (the person present) is counted apart and still served.
    expect((await resourceGet(g.at, `${resource}/accounts`, g.DPoP, PRESENT)).status).toBe(200)
  })
})

describe('cursors expire', () => {
  let offsetMs = 0
  let clocked: HarborPay
  let rc: Recipient
  beforeAll(async () => {
    clocked = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      // Access tokens outlive the clock jumps below, so only the cursor can expire.
      overrides: { now: () => Date.now() + offsetMs, lifetimes: { accessToken: 3600 } },
    })
    rc = await registerRecipient(clocked.issuer)
  })
  afterAll(() => clocked.close())

  it('accepts a cursor for 15 minutes after it was issued, then answers 400 invalid_cursor', async () => {
    const g = await linked(rc, [HISTORY_DETAIL], clocked)
    const base = `${clocked.issuer}/api`
    const page = (query: string) =>
      api(g, `/accounts/acc_alice_wallet/transactions?limit=2${query}`, {
        base,
        client: rc,
        skewS: Math.round(offsetMs / 1000),
        headers: PRESENT,
      })
    const first = await page('')
    expect(first.status).toBe(200)
    const c1: string = (await first.json()).next_cursor
    expect(c1).toBeTruthy()

    offsetMs = 14 * 60_000 // within the lifetime: the cursor works (control)
    const second = await page(`&cursor=${encodeURIComponent(c1)}`)
    expect(second.status).toBe(200)
    const c2: string = (await second.json()).next_cursor

    offsetMs = 15 * 60_000 + 1000 // c1 is now 15 min 1 s old
    const expired = await page(`&cursor=${encodeURIComponent(c1)}`)
    expect(expired.status).toBe(400)
    const problem = await expired.json()
    expect(problem.code).toBe('invalid_cursor')
    expect(problem.detail).toMatch(/expired/)
    // A cursor issued later lives 15 minutes from its own issue time.
    expect((await page(`&cursor=${encodeURIComponent(c2)}`)).status).toBe(200)
    offsetMs = 29 * 60_000 + 1000
    expect((await page(`&cursor=${encodeURIComponent(c2)}`)).status).toBe(400)
  })
})
