import {
  CallbackError,
  ClientAuthenticationError,
  ConfigurationError,
  createConsentClient,
  InvalidRequestError,
  IssuerMismatchError,
  LinkDeniedError,
  ProtocolError,
  StateMismatchError,
} from '@consentry/client'
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from 'jose'
import { HttpResponse, http } from 'msw'
import { describe, expect, it } from 'vitest'
import { ISSUER, REDIRECT_URI, RESOURCE } from './mock-server.ts'
import { assertNoSecrets, DETAIL, linkAccount, rejection, setupClient, useMockServer } from './setup.ts'

const ctx = useMockServer()

const without = (body: Record<string, unknown>, member: string) =>
  Object.fromEntries(Object.entries(body).filter(([k]) => k !== member))

describe('startLink', () => {
  it('pushes a PAR with PKCE S256, dpop_jkt and a signed client assertion, and returns the authorize URL', async () => {
    const { mock } = ctx
    const { client, clientId } = await setupClient(mock)
    const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })

    const [par] = mock.of('/par')
    expect(par).toBeDefined()
    const form = par?.form ?? {}
    expect(form.response_type).toBe('code')
    expect(form.code_challenge_method).toBe('S256')
    expect(form.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(form.redirect_uri).toBe(REDIRECT_URI)
    expect(form.state).toBe(pending.state)
    expect(form.dpop_jkt).toBe(await calculateJwkThumbprint(pending.dpopKey.publicKey))
    expect(form.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    expect(form.client_id).toBe(clientId)
    expect(JSON.parse(form.authorization_details as string)).toEqual([{ ...DETAIL, max_reads_per_day: 4 }])
    // The verifier itself never travels at PAR.
    expect(Object.values(form)).not.toContain(pending.codeVerifier)

    // Client assertion: iss = sub = client_id, aud = issuer string, short-lived.
    const header = decodeProtectedHeader(form.client_assertion as string)
    expect(header.alg).toBe('ES256')
    const claims = JSON.parse(
      Buffer.from((form.client_assertion as string).split('.')[1] as string, 'base64url').toString(),
    )
    expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: ISSUER })
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(300)
    expect(typeof claims.jti).toBe('string')

    const u = new URL(url)
    expect(`${u.origin}${u.pathname}`).toBe(`${ISSUER}/authorize`)
    expect([...u.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri'])
    expect(u.searchParams.get('client_id')).toBe(clientId)
    expect(u.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/)

    // Pending is plain JSON and holds a usable ES256 key pair.
    expect(JSON.parse(JSON.stringify(pending))).toEqual(pending)
    expect(pending.dpopKey.privateKey.d).toBeTypeOf('string')
    await importJWK(pending.dpopKey.privateKey, 'ES256')
  })

  it('uses the state it is given and a fresh DPoP key per link', async () => {
    const { client } = await setupClient(ctx.mock)
    const a = await client.startLink({ authorizationDetails: [DETAIL], state: 'session-42' })
    const b = await client.startLink({ authorizationDetails: [DETAIL] })
    expect(a.pending.state).toBe('session-42')
    expect(b.pending.state).not.toBe(a.pending.state)
    expect(b.pending.state.length).toBeGreaterThanOrEqual(43)
    expect(b.pending.dpopKey.publicKey.x).not.toBe(a.pending.dpopKey.publicKey.x)
    expect(b.pending.codeVerifier).not.toBe(a.pending.codeVerifier)
  })

  it.each([
    ['empty list', []],
    ['unknown type', [{ type: 'everything' }]],
    ['transactions without fields', [{ ...DETAIL, fields: undefined }]],
    ['bad period', [{ ...DETAIL, period: { from: '2025-02-30', to: '2025-03-01' } }]],
    ['extra member', [{ ...DETAIL, password: 'hunter2' }]],
  ])('rejects invalid details (%s) before any request', async (_name, details) => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const err = await rejection(client.startLink({ authorizationDetails: details as never }))
    expect(err).toBeInstanceOf(InvalidRequestError)
    expect(err.code).toBe('invalid_request')
    expect(err.message).not.toContain('hunter2')
    expect(mock.requests).toHaveLength(0)
  })

  it('rejects a malformed state before any request', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const err = await rejection(client.startLink({ authorizationDetails: [DETAIL], state: 'has space' }))
    expect(err).toBeInstanceOf(InvalidRequestError)
    expect(mock.requests).toHaveLength(0)
  })

  it('maps a PAR refusal to typed errors', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    mock.server.use(
      http.post(`${ISSUER}/par`, () =>
        HttpResponse.json(
          { error: 'invalid_authorization_details', error_description: 'no' },
          { status: 400 },
        ),
      ),
    )
    const err = await rejection(client.startLink({ authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(InvalidRequestError)
    expect((err as InvalidRequestError).serverError).toBe('invalid_authorization_details')

    mock.server.use(
      http.post(`${ISSUER}/par`, () => HttpResponse.json({ error: 'invalid_client' }, { status: 401 })),
    )
    expect(await rejection(client.startLink({ authorizationDetails: [DETAIL] }))).toBeInstanceOf(
      ClientAuthenticationError,
    )

    mock.server.use(http.post(`${ISSUER}/par`, () => HttpResponse.json({ expires_in: 60 }, { status: 201 })))
    expect(await rejection(client.startLink({ authorizationDetails: [DETAIL] }))).toBeInstanceOf(
      ProtocolError,
    )
  })

  it('signs the client assertion with EdDSA and PS256 keys as announced', async () => {
    const { mock } = ctx
    for (const alg of ['EdDSA', 'PS256'] as const) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
      const clientId = `cl_${alg}`
      mock.registerClientKey(clientId, await exportJWK(publicKey))
      const client = createConsentClient({
        issuer: ISSUER,
        clientId,
        privateKey: { ...(await exportJWK(privateKey)), alg },
        redirectUri: REDIRECT_URI,
      })
      await client.startLink({ authorizationDetails: [DETAIL] })
      const assertion = mock.of('/par').at(-1)?.form?.client_assertion as string
      expect(decodeProtectedHeader(assertion).alg).toBe(alg)
      await jwtVerify(assertion, publicKey, { audience: ISSUER, issuer: clientId })
    }
  })
})

describe('createConsentClient configuration', () => {
  it('refuses plain http on a non-loopback issuer unless dangerouslyAllowInsecureHttp is set', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const base = {
      clientId: 'c',
      privateKey: await exportJWK(privateKey),
      redirectUri: 'https://lender.example/cb',
    }
    expect(() => createConsentClient({ ...base, issuer: 'http://pay.example' })).toThrow(ConfigurationError)
    expect(() => createConsentClient({ ...base, issuer: 'ftp://pay.example' })).toThrow(ConfigurationError)
    expect(() => createConsentClient({ ...base, issuer: 'https://pay.example' })).not.toThrow()
    expect(() => createConsentClient({ ...base, issuer: 'http://localhost:4000' })).not.toThrow()
    expect(() => createConsentClient({ ...base, issuer: 'http://[::1]:4000' })).not.toThrow()
    expect(() =>
      createConsentClient({ ...base, issuer: 'http://pay.example', dangerouslyAllowInsecureHttp: true }),
    ).not.toThrow()
    expect(() =>
      createConsentClient({
        ...base,
        issuer: 'https://pay.example',
        redirectUri: 'http://lender.example/cb',
      }),
    ).toThrow(ConfigurationError)
  })

  it('requires the discovered issuer to equal the configured one exactly (IssuerMismatchError naming both)', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    for (const other of [`${ISSUER}/`, 'http://127.0.0.1:9998']) {
      mock.config.metadata = { issuer: other }
      const err = await rejection(client.startLink({ authorizationDetails: [DETAIL] }))
      expect(err).toBeInstanceOf(IssuerMismatchError)
      expect(err).toMatchObject({
        code: 'issuer_mismatch',
        expected: ISSUER,
        received: other,
        source: 'discovery',
      })
      expect(err.message).toContain(JSON.stringify(ISSUER))
      expect(err.message).toContain(JSON.stringify(other))
    }
  })

  it('refuses metadata endpoints that would leave loopback over plain http', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    mock.config.metadata = { token_endpoint: 'http://evil.example/token' }
    expect(await rejection(client.startLink({ authorizationDetails: [DETAIL] }))).toBeInstanceOf(
      ProtocolError,
    )
  })

  it('answers malformed discovery with ProtocolError', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    mock.server.use(
      http.get(
        `${ISSUER}/.well-known/oauth-authorization-server`,
        () => new HttpResponse('{"issuer":', { headers: { 'content-type': 'application/json' } }),
      ),
    )
    expect(await rejection(client.startLink({ authorizationDetails: [DETAIL] }))).toBeInstanceOf(
      ProtocolError,
    )
  })
})

describe('completeLink', () => {
  it('exchanges the code with DPoP (retrying with the server nonce) and returns the granted link', async () => {
    const { mock } = ctx
    const { client, store } = await setupClient(mock)
    const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
    const callback = mock.approve(url, { accounts: ['acc_1', 'acc_2'], fields: ['booked_at', 'amount'] })
    const link = await client.completeLink(callback, JSON.parse(JSON.stringify(pending)))

    const tokenCalls = mock.of('/token')
    expect(tokenCalls).toHaveLength(2)
    expect(tokenCalls[0]?.dpop?.nonce).toBeUndefined()
    expect(tokenCalls[1]?.dpop?.nonce).toBe(mock.nonce)
    expect(tokenCalls[1]?.form).toMatchObject({
      grant_type: 'authorization_code',
      redirect_uri: REDIRECT_URI,
      code_verifier: pending.codeVerifier,
    })
    expect(tokenCalls[1]?.dpop).toMatchObject({ htm: 'POST', htu: `${ISSUER}/token` })

    expect(link.grant).toMatchObject({
      grantId: link.grantId,
      accounts: ['acc_1', 'acc_2'],
      fields: ['booked_at', 'amount'],
      datatypes: ['accounts', 'transactions'],
      period: { lookback_days: 90 },
      purpose: 'credit_assessment',
      maxReadsPerDay: 4,
    })
    expect(link.grant.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 29 * 86400_000)

    const saved = await store.get(link.grantId)
    expect(saved?.refreshToken).toMatch(/^rt-/)
    expect(saved?.dpopKey).toEqual(pending.dpopKey)
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved)

    const reopened = await client.link(link.grantId)
    expect(reopened.grant.accounts).toEqual(['acc_1', 'acc_2'])
  })

  it('throws IssuerMismatchError for a wrong or missing iss, before any token request', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
    const callback = new URL(mock.approve(url))
    const code = callback.searchParams.get('code') as string
    callback.searchParams.set('iss', 'https://attacker.example')
    const err = await rejection(client.completeLink(callback, pending))
    expect(err).toBeInstanceOf(IssuerMismatchError)
    expect(err.code).toBe('issuer_mismatch')
    assertNoSecrets(err, mock.secrets, [code, pending.codeVerifier])
    callback.searchParams.delete('iss')
    expect(await rejection(client.completeLink(callback, pending))).toBeInstanceOf(IssuerMismatchError)
    expect(mock.of('/token')).toHaveLength(0)
  })

  it('throws StateMismatchError for a wrong or missing state', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
    const callback = new URL(mock.approve(url))
    callback.searchParams.set('state', 'forged')
    const err = await rejection(client.completeLink(callback.href, pending))
    expect(err).toBeInstanceOf(StateMismatchError)
    expect(err).toBeInstanceOf(CallbackError)
    expect(err.code).toBe('state_mismatch')
    callback.searchParams.delete('state')
    expect(await rejection(client.completeLink(callback.href, pending))).toBeInstanceOf(StateMismatchError)
    expect(mock.of('/token')).toHaveLength(0)
  })

  it('throws LinkDeniedError (link_denied) when the person declines', async () => {
    const { mock } = ctx
    const { client, store } = await setupClient(mock)
    const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
    const err = await rejection(client.completeLink(mock.deny(url), pending))
    expect(err).toBeInstanceOf(LinkDeniedError)
    expect(err.code).toBe('link_denied')
    expect(mock.of('/token')).toHaveLength(0)
    expect(store.size()).toBe(0)
  })

  it('throws CallbackError for another authorization error or a missing code', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const { pending } = await client.startLink({ authorizationDetails: [DETAIL] })
    const cb = new URL(REDIRECT_URI)
    cb.searchParams.set('error', 'server_error')
    cb.searchParams.set('state', pending.state)
    cb.searchParams.set('iss', ISSUER)
    const err = await rejection(client.completeLink(cb, pending))
    expect(err).toBeInstanceOf(CallbackError)
    expect(err.code).toBe('invalid_callback')
    cb.searchParams.delete('error')
    expect((await rejection(client.completeLink(cb, pending))).code).toBe('invalid_callback')
  })

  it('rejects a pending link of another client', async () => {
    const { mock } = ctx
    const a = await setupClient(mock)
    const b = await setupClient(mock)
    const { url, pending } = await a.client.startLink({ authorizationDetails: [DETAIL] })
    expect(await rejection(b.client.completeLink(mock.approve(url), pending))).toBeInstanceOf(
      InvalidRequestError,
    )
  })

  it('maps a refused code (invalid_grant) and keeps codes and verifiers out of messages', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
    const callback = mock.approve(url)
    await client.completeLink(callback, pending)
    // Second use of the same code.
    const err = await rejection(client.completeLink(callback, pending))
    expect(err.code).toBe('request_rejected')
    expect((err as { serverError?: string }).serverError).toBe('invalid_grant')
    assertNoSecrets(err, mock.secrets, [
      pending.codeVerifier,
      new URL(callback).searchParams.get('code') as string,
    ])
  })

  it.each([
    ['a bearer token', (b: Record<string, unknown>) => ({ ...b, token_type: 'Bearer' })],
    ['no grant_id', (b: Record<string, unknown>) => without(b, 'grant_id')],
    ['no authorization_details', (b: Record<string, unknown>) => without(b, 'authorization_details')],
    [
      'authorization_details not an array',
      (b: Record<string, unknown>) => ({ ...b, authorization_details: 'all' }),
    ],
    ['no access_token', (b: Record<string, unknown>) => without(b, 'access_token')],
    [
      'an unrequested detail type',
      (b: Record<string, unknown>) => ({ ...b, authorization_details: [{ type: 'payments' }] }),
    ],
  ])('throws ProtocolError for a token response with %s', async (_name, transform) => {
    const { mock } = ctx
    const { client, store } = await setupClient(mock)
    mock.config.tokenResponse = transform
    const err = await rejection(linkAccount(mock, client))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.code).toBe('protocol_error')
    assertNoSecrets(err, mock.secrets)
    expect(store.size()).toBe(0)
  })

  it('throws ProtocolError for a non-JSON token response', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    mock.server.use(
      http.post(
        `${ISSUER}/token`,
        () => new HttpResponse('<html>oops</html>', { headers: { 'content-type': 'text/html' } }),
      ),
    )
    expect(await rejection(linkAccount(mock, client))).toBeInstanceOf(ProtocolError)
  })

  it('uses the resource from metadata, and the option when metadata lacks it', async () => {
    const { mock } = ctx
    mock.config.metadata = { consentry_resource: undefined }
    const { client } = await setupClient(mock, { resource: RESOURCE })
    const link = await linkAccount(mock, client)
    expect(await link.accounts()).toHaveLength(1)
  })
})
