/**
 * The error catalogue as a user meets it: one union narrowed on `code`, messages that carry the
 * server's words (never its secrets), network errors naming URL and cause, issuer mismatches naming
 * both issuers, and one revocation always surfacing as GrantRevokedError, whatever arrived first.
 */
import {
  CLIENT_ERROR_CODES,
  ClientAuthenticationError,
  type ClientErrorOf,
  ConsentryClientError,
  createConsentClient,
  GRANT_ENDED_EVENT,
  GrantExpiredError,
  GrantRevokedError,
  InvalidRequestError,
  IssuerMismatchError,
  isConsentryClientError,
  LinkNotFoundError,
  type LinkState,
  NetworkError,
  NotFoundError,
  OutsideConsentError,
  ProtocolError,
  RateLimitedError,
  RequestRejectedError,
  ServerError,
  type TokenStore,
  UnauthorizedError,
} from '@consentry/client'
import { exportJWK, generateKeyPair } from 'jose'
import { HttpResponse, http } from 'msw'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { ISSUER, type MockServer, REDIRECT_URI, RESOURCE } from './mock-server.ts'
import { assertNoSecrets, DETAIL, linkAccount, rejection, setupClient, useMockServer } from './setup.ts'

const ctx = useMockServer()

/** An OAuth error answer as the Consentry server writes it (RFC 6749 §5.2). */
const oauthError = (mock: MockServer, status: number, error: string, description?: string) =>
  HttpResponse.json(
    { error, ...(description !== undefined ? { error_description: description } : {}) },
    { status, headers: { 'dpop-nonce': mock.nonce, 'cache-control': 'no-store' } },
  )

/** A problem document as the resource API writes it (RFC 9457 + Consentry's `code`). */
const problem = (status: number, code: string, detail?: string, headers: Record<string, string> = {}) =>
  HttpResponse.json(
    { type: `urn:consentry:problem:${code}`, title: code, status, code, ...(detail ? { detail } : {}) },
    { status, headers: { 'content-type': 'application/problem+json', ...headers } },
  )

describe('one union narrowed on code', () => {
  it('switch (err.code) narrows to the class; instanceof and the guard accept every client error', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(
      http.get(`${RESOURCE}/accounts`, () =>
        problem(429, 'read_limit_exceeded', 'reads per day used up', { 'retry-after': '120' }),
      ),
    )
    const err: unknown = await rejection(link.accounts())
    expect(isConsentryClientError(err)).toBe(true)
    if (!isConsentryClientError(err)) return
    expectTypeOf(err).toEqualTypeOf<ConsentryClientError>()
    let retryAfter: number | undefined
    switch (err.code) {
      case 'read_limit_exceeded':
        expectTypeOf(err).toEqualTypeOf<RateLimitedError>()
        retryAfter = err.retryAfter // only RateLimitedError has it: this line would not compile otherwise
        break
      case 'grant_revoked':
        expectTypeOf(err).toEqualTypeOf<GrantRevokedError>()
        break
      case 'invalid_callback':
        expectTypeOf(err.code).toEqualTypeOf<'invalid_callback'>()
        break
      case 'issuer_mismatch':
        expectTypeOf(err).toEqualTypeOf<IssuerMismatchError>()
        break
      default:
        break
    }
    expect(retryAfter).toBe(120)
    expect(err).toBeInstanceOf(ConsentryClientError)
    expectTypeOf<ClientErrorOf<'network_error'>>().toEqualTypeOf<NetworkError>()
    // instanceof the value ConsentryClientError narrows to the union as well.
    const caught: unknown = err
    if (caught instanceof ConsentryClientError) expectTypeOf(caught).toEqualTypeOf<ConsentryClientError>()
  })

  it('the guard rejects look-alikes and accepts errors of another copy of the package', () => {
    expect(isConsentryClientError(new Error('x'))).toBe(false)
    expect(isConsentryClientError({ code: 'grant_revoked', message: 'x' })).toBe(false)
    expect(isConsentryClientError(Object.assign(new Error('x'), { code: 'grant_revoked' }))).toBe(false)
    // A second copy (another bundle of this package) brands its errors with the same registered symbol.
    const foreign = Object.assign(Object.create({ [Symbol.for('@consentry/client.error')]: true }), {
      code: 'grant_revoked',
    })
    Object.setPrototypeOf(Object.getPrototypeOf(foreign), Error.prototype)
    expect(isConsentryClientError(foreign)).toBe(true)
    expect(isConsentryClientError(Object.assign(foreign, { code: 'made_up' }))).toBe(false)
  })

  it('every code of the catalogue names the class that carries it', () => {
    const samples: ConsentryClientError[] = [
      new InvalidRequestError('x'),
      new GrantRevokedError({ grantId: 'gr_1' }),
      new GrantExpiredError(),
      new LinkNotFoundError('gr_1'),
      new NetworkError('https://holder.example/token', 'ECONNREFUSED'),
      new IssuerMismatchError({
        expected: 'https://a.example',
        received: 'https://b.example',
        source: 'callback',
      }),
      new RateLimitedError(1),
      new ServerError(),
    ]
    for (const err of samples) expect(err.name).toBe(CLIENT_ERROR_CODES[err.code])
  })
})

describe('messages carry the server’s words', () => {
  it('PAR: invalid_request with its description, status and endpoint', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    mock.server.use(
      http.post(`${ISSUER}/par`, () =>
        oauthError(mock, 400, 'invalid_request', 'redirect_uri is not registered for this client'),
      ),
    )
    const err = await rejection(client.startLink({ authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(InvalidRequestError)
    expect(err.message).toContain('invalid_request: redirect_uri is not registered for this client')
    expect(err.message).toContain('HTTP 400')
    expect(err).toMatchObject({
      status: 400,
      serverError: 'invalid_request',
      description: 'redirect_uri is not registered for this client',
    })
  })

  it.each([
    ['invalid_client', 401, ClientAuthenticationError],
    ['invalid_authorization_details', 400, InvalidRequestError],
    ['invalid_scope', 400, InvalidRequestError],
    ['unauthorized_client', 400, RequestRejectedError],
    ['temporarily_unavailable', 503, ServerError],
  ] as const)('PAR %s (HTTP %i) → %o with the description in the message', async (error, status, Class) => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    mock.server.use(
      http.post(`${ISSUER}/par`, () => oauthError(mock, status, error, `why ${error} happened`)),
    )
    const err = await rejection(client.startLink({ authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(Class)
    expect(err.message).toContain(`${error}: why ${error} happened`)
  })

  it('without a description, the code still leads the message', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    mock.server.use(http.post(`${ISSUER}/par`, () => oauthError(mock, 401, 'invalid_client')))
    const err = await rejection(client.startLink({ authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(ClientAuthenticationError)
    expect(err.message).toMatch(/^invalid_client: the server rejected the client authentication \(HTTP 401/)
  })

  it('the token endpoint: a refused code exchange carries the description, never the code or verifier', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
    const callback = mock.approve(url)
    const code = new URL(callback).searchParams.get('code') as string
    // A careless server echoes what it got.
    mock.server.use(
      http.post(`${ISSUER}/token`, () =>
        oauthError(
          mock,
          400,
          'invalid_grant',
          `code ${code} was already used (verifier ${pending.codeVerifier})`,
        ),
      ),
    )
    const err = await rejection(client.completeLink(callback, pending))
    expect(err).toBeInstanceOf(RequestRejectedError)
    expect(err.message).toContain('invalid_grant: code [redacted] was already used (verifier [redacted])')
    assertNoSecrets(err, mock.secrets, [code, pending.codeVerifier])
  })

  it('token-shaped text and control characters in a description never reach the message', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl'
    const opaque = 'Zx9'.repeat(15)
    mock.server.use(
      http.post(`${ISSUER}/par`, () =>
        oauthError(mock, 400, 'invalid_request', `bad assertion ${jwt}\nfake: log line\r\u2028and ${opaque}`),
      ),
    )
    const err = await rejection(client.startLink({ authorizationDetails: [DETAIL] }))
    expect(err.message).not.toContain(jwt)
    expect(err.message).not.toContain(opaque)
    expect(err.message).not.toMatch(/[\n\r\u2028]/)
    expect(err.message).toContain('invalid_request: bad assertion [redacted] fake: log line and [redacted]')
    expect((err as InvalidRequestError).description).not.toContain(jwt)
  })

  it('a very long description is cut', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    mock.server.use(
      http.post(`${ISSUER}/par`, () => oauthError(mock, 400, 'invalid_request', 'word '.repeat(2000))),
    )
    const err = await rejection(client.startLink({ authorizationDetails: [DETAIL] }))
    expect(err.message.length).toBeLessThan(450)
    expect((err as InvalidRequestError).description?.length).toBeLessThanOrEqual(500)
  })

  it('registration: a refused initial access token is UnauthorizedError with the server’s words, not the token', async () => {
    const { mock } = ctx
    const { registerClient } = await import('@consentry/client')
    mock.server.use(
      http.post(`${ISSUER}/register`, () =>
        HttpResponse.json(
          {
            error: 'invalid_token',
            error_description: 'a valid initial access token is required to register',
          },
          { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
        ),
      ),
    )
    const err = await rejection(
      registerClient({
        issuer: ISSUER,
        initialAccessToken: 'iat-bad-secret-value',
        clientName: 'Beacon',
        redirectUris: [REDIRECT_URI],
      }),
    )
    expect(err).toBeInstanceOf(UnauthorizedError)
    expect(err.message).toContain('invalid_token: a valid initial access token is required to register')
    expect(err.message).not.toContain('iat-bad-secret-value')
  })

  it('a malformed answer says what oauth4webapi found wrong', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    mock.server.use(http.post(`${ISSUER}/par`, () => HttpResponse.json({ request_uri: 42 }, { status: 201 })))
    const err = await rejection(client.startLink({ authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.message).toMatch(/^the pushed authorization response is malformed: .*request_uri/)
  })
})

describe('resource and grant-management answers (one decision table)', () => {
  const cases: [string, () => Response, new (...a: never[]) => Error, string][] = [
    [
      '400 invalid_parameter',
      () => problem(400, 'invalid_parameter', 'limit must be 1 to 500'),
      InvalidRequestError,
      'invalid_parameter: limit must be 1 to 500',
    ],
    [
      '400 invalid_cursor',
      () => problem(400, 'invalid_cursor', 'the cursor is not one of ours'),
      InvalidRequestError,
      'invalid_cursor: the cursor is not one of ours',
    ],
    [
      '403 outside_consent',
      () => problem(403, 'outside_consent', 'acc_9 is not shared'),
      OutsideConsentError,
      'outside_consent: acc_9 is not shared',
    ],
    ['403 without a body', () => new HttpResponse(null, { status: 403 }), OutsideConsentError, '(HTTP 403'],
    [
      '404 not_found',
      () => problem(404, 'not_found', 'no such account'),
      NotFoundError,
      'not_found: no such account',
    ],
    [
      '404 without a body',
      () => new HttpResponse(null, { status: 404 }),
      NotFoundError,
      'the server has no such resource (HTTP 404',
    ],
    [
      '429 with Retry-After',
      () => problem(429, 'read_limit_exceeded', '4 unattended reads a day', { 'retry-after': '60' }),
      RateLimitedError,
      'read_limit_exceeded: 4 unattended reads a day',
    ],
    [
      '500 internal_error',
      () => problem(500, 'internal_error', 'try again later'),
      ServerError,
      'internal_error: try again later (HTTP 500',
    ],
    [
      '503 as HTML',
      () => new HttpResponse('<h1>down</h1>', { status: 503, headers: { 'content-type': 'text/html' } }),
      ServerError,
      'the server failed to answer (HTTP 503',
    ],
    ['409 another code', () => problem(409, 'conflict', 'busy'), RequestRejectedError, 'conflict: busy'],
    [
      '418 without a body',
      () => new HttpResponse(null, { status: 418 }),
      ProtocolError,
      'unexpected HTTP status (HTTP 418',
    ],
    [
      '401 invalid_dpop_proof challenge',
      () =>
        new HttpResponse(null, {
          status: 401,
          headers: {
            'www-authenticate': 'DPoP error="invalid_dpop_proof", error_description="htu does not match"',
          },
        }),
      RequestRejectedError,
      'invalid_dpop_proof: htu does not match (HTTP 401',
    ],
  ]
  it.each(cases)('%s', async (_name, reply, Class, text) => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(http.get(`${RESOURCE}/accounts`, reply))
    const err = await rejection(link.accounts())
    expect(err).toBeInstanceOf(Class)
    expect(err.message).toContain(text)
    expect((err as ConsentryClientError).grantId).toBe(link.grantId)
    assertNoSecrets(err, mock.secrets)
  })

  it('grant management 404 is NotFoundError with the server’s detail', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(http.get(`${ISSUER}/grants/:id`, () => problem(404, 'not_found', 'unknown grant')))
    const err = await rejection(link.status())
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err.message).toContain('not_found: unknown grant')
  })
})

describe('network errors name the URL and the cause', () => {
  const refused = () =>
    Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9999'), { code: 'ECONNREFUSED' }),
    })

  it('a refused connection: "could not reach <url>: ECONNREFUSED", cause kept, query left out', async () => {
    const { mock } = ctx
    const { client, store, clientId } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    // Same store, a fetch that cannot connect.
    let thrown: unknown
    const offline = createConsentClient({
      issuer: ISSUER,
      clientId,
      privateKey: await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey),
      redirectUri: REDIRECT_URI,
      tokenStore: store,
      fetch: async () => {
        thrown = refused()
        throw thrown
      },
    })
    const err = await rejection(offline.startLink({ authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(NetworkError)
    expect(err.message).toBe(`could not reach ${ISSUER}/.well-known/oauth-authorization-server: ECONNREFUSED`)
    expect(err).toMatchObject({
      code: 'network_error',
      reason: 'ECONNREFUSED',
      url: `${ISSUER}/.well-known/oauth-authorization-server`,
    })
    expect(err.cause).toBe(thrown)
    // A read with a query string: the message names origin and path only.
    const reads = createConsentClient({
      issuer: ISSUER,
      clientId,
      privateKey: await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey),
      redirectUri: REDIRECT_URI,
      tokenStore: store,
      fetch: (async (input: string, init?: RequestInit) => {
        if (new URL(input).pathname.includes('/transactions')) throw refused()
        return fetch(input, init)
      }) as typeof fetch,
    })
    const page = await rejection(
      (await reads.link(link.grantId)).transactionPages({ accountId: 'acc_1', from: '2025-01-01' }).next(),
    )
    expect(page.message).toBe(`could not reach ${RESOURCE}/accounts/acc_1/transactions: ECONNREFUSED`)
    assertNoSecrets(page, mock.secrets)
  })

  it.each([
    [
      'a timeout',
      () => new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'timed out',
    ],
    ['an abort', () => new DOMException('This operation was aborted', 'AbortError'), 'aborted'],
    [
      'a DNS failure',
      () =>
        Object.assign(new TypeError('fetch failed'), {
          cause: Object.assign(new Error('getaddrinfo ENOTFOUND holder.example'), { code: 'ENOTFOUND' }),
        }),
      'ENOTFOUND',
    ],
    [
      'happy eyeballs (AggregateError)',
      () =>
        Object.assign(new TypeError('fetch failed'), {
          cause: new AggregateError([Object.assign(new Error('x'), { code: 'ECONNRESET' })]),
        }),
      'ECONNRESET',
    ],
  ])('%s names its reason', async (_name, make, reason) => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const client = createConsentClient({
      issuer: ISSUER,
      clientId: 'cl_x',
      privateKey: await exportJWK(privateKey),
      redirectUri: REDIRECT_URI,
      fetch: async () => {
        throw make()
      },
    })
    const err = await rejection(client.startLink({ authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(NetworkError)
    expect(err.message).toBe(`could not reach ${ISSUER}/.well-known/oauth-authorization-server: ${reason}`)
  })

  it('msw network error at the resource', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(http.get(`${RESOURCE}/accounts`, () => HttpResponse.error()))
    const err = await rejection(link.accounts())
    expect(err).toBeInstanceOf(NetworkError)
    expect(err.message).toBe(`could not reach ${RESOURCE}/accounts: Failed to fetch`)
    expect(err.cause).toBeDefined()
  })
})

describe('issuer mismatch names both issuers', () => {
  it('in the callback: wrong, missing and repeated iss', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
    const callback = new URL(mock.approve(url))
    callback.searchParams.set('iss', 'https://attacker.example')
    const wrong = await rejection(client.completeLink(callback, pending))
    expect(wrong).toBeInstanceOf(IssuerMismatchError)
    expect(wrong.message).toBe(
      `the callback iss "https://attacker.example" is not the configured issuer ${JSON.stringify(ISSUER)}`,
    )
    expect(wrong).toMatchObject({
      expected: ISSUER,
      received: 'https://attacker.example',
      source: 'callback',
    })

    callback.searchParams.delete('iss')
    const missing = await rejection(client.completeLink(callback, pending))
    expect(missing.message).toBe(
      `the callback has no iss parameter; expected exactly one, ${JSON.stringify(ISSUER)}`,
    )

    callback.searchParams.append('iss', ISSUER)
    callback.searchParams.append('iss', ISSUER)
    const twice = await rejection(client.completeLink(callback, pending))
    expect(twice.message).toContain('the callback has 2 iss parameters')

    // Attacker-controlled text is quoted (control characters escaped) and cut.
    callback.searchParams.delete('iss')
    callback.searchParams.set('iss', `https://x.example\n${'a'.repeat(500)}`)
    const hostile = await rejection(client.completeLink(callback, pending))
    expect(hostile.message).not.toContain('\n')
    expect(hostile.message.length).toBeLessThan(400)
    expect(mock.of('/token')).toHaveLength(0)
  })
})

describe('one revocation is always GrantRevokedError, whatever arrived first', () => {
  const endedEvent = (clientId: string, grantId: string, status = 'revoked') => ({
    iss: ISSUER,
    aud: clientId,
    events: { [GRANT_ENDED_EVENT]: { grant_id: grantId, status, reason: 'revoked_by_subject' } },
  })
  const deliver = async (mock: MockServer, handler: (r: Request) => Promise<Response>, claims: object) =>
    handler(
      new Request('http://127.0.0.1:3000/events', {
        method: 'POST',
        body: await mock.signEvent(claims as Record<string, unknown>),
        headers: { 'content-type': 'application/secevent+jwt' },
      }),
    )

  it('event first: reads and re-opening throw GrantRevokedError (with the event’s reason) without a request', async () => {
    const { mock } = ctx
    const { client, clientId, store } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const grant = mock.grants.get(link.grantId)
    if (grant) grant.status = 'revoked'
    const webhook = client.webhookHandler(() => {})
    expect((await deliver(mock, webhook, endedEvent(clientId, link.grantId))).status).toBe(202)
    const before = mock.requests.length
    for (const err of [await rejection(link.accounts()), await rejection(client.link(link.grantId))]) {
      expect(err).toBeInstanceOf(GrantRevokedError)
      expect(err).toMatchObject({
        code: 'grant_revoked',
        grantId: link.grantId,
        reason: 'revoked_by_subject',
      })
      expect(err.message).toBe(
        `the grant ${JSON.stringify(link.grantId)} has been revoked (revoked_by_subject)`,
      )
      expect((err as GrantRevokedError).endedAt).toBeInstanceOf(Date)
    }
    expect(mock.requests.length).toBe(before)
    // The store holds the tombstone, not the tokens.
    expect(await store.get(link.grantId)).toBeUndefined()
    const tombstone = await store.getEnded(link.grantId)
    expect(Object.keys(tombstone ?? {}).sort()).toEqual(['endedAt', 'grantId', 'reason', 'status', 'version'])
  })

  it('server first, then the event: GrantRevokedError both times (never LinkNotFoundError)', async () => {
    const { mock } = ctx
    const { client, clientId } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const grant = mock.grants.get(link.grantId)
    if (grant) grant.status = 'revoked'
    const first = await rejection(link.accounts())
    expect(first).toBeInstanceOf(GrantRevokedError)
    const second = await rejection(link.accounts())
    expect(second).toBeInstanceOf(GrantRevokedError)
    const webhook = client.webhookHandler(() => {})
    expect((await deliver(mock, webhook, endedEvent(clientId, link.grantId))).status).toBe(202)
    const third = await rejection(link.accounts())
    expect(third).toBeInstanceOf(GrantRevokedError)
    expect(third).toMatchObject({ reason: 'revoked_by_subject' }) // the event told why
    // A repeated delivery changes nothing.
    expect((await deliver(mock, webhook, endedEvent(clientId, link.grantId))).status).toBe(202)
    expect(await rejection(client.link(link.grantId))).toBeInstanceOf(GrantRevokedError)
  })

  it('an event that lands while a refresh is in flight: the new tokens are not stored', async () => {
    const { mock } = ctx
    const { client, clientId, store, clock } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const webhook = client.webhookHandler(() => {})
    let delivered = false
    mock.server.use(
      http.post(`${ISSUER}/token`, async () => {
        if (!delivered) {
          delivered = true
          expect((await deliver(mock, webhook, endedEvent(clientId, link.grantId))).status).toBe(202)
        }
        return undefined // on to the real token endpoint, which still refreshes
      }),
    )
    clock.advance(400) // the access token is due for a refresh
    const err = await rejection(link.accounts())
    expect(delivered).toBe(true)
    expect(err).toBeInstanceOf(GrantRevokedError)
    expect(await store.get(link.grantId)).toBeUndefined()
    expect(mock.of('/api/accounts')).toHaveLength(0)
  })

  it('an "expired" event gives GrantExpiredError', async () => {
    const { mock } = ctx
    const { client, clientId } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const webhook = client.webhookHandler(() => {})
    await deliver(mock, webhook, endedEvent(clientId, link.grantId, 'expired'))
    expect(await rejection(link.accounts())).toBeInstanceOf(GrantExpiredError)
  })

  it('a custom token store without setEnded/getEnded keeps working; the client remembers the end', async () => {
    const { mock } = ctx
    const map = new Map<string, LinkState>()
    const plain: TokenStore = {
      get: (id) => map.get(id),
      set: (id, s) => {
        map.set(id, structuredClone(s))
      },
      delete: (id) => {
        map.delete(id)
      },
    }
    const { client, clientId } = await setupClient(mock, { tokenStore: plain })
    const link = await linkAccount(mock, client)
    expect(await link.accounts()).toHaveLength(1)
    await deliver(
      mock,
      client.webhookHandler(() => {}),
      endedEvent(clientId, link.grantId),
    )
    expect(map.has(link.grantId)).toBe(false)
    expect(await rejection(link.accounts())).toBeInstanceOf(GrantRevokedError)
    expect(await rejection(client.link(link.grantId))).toBeInstanceOf(GrantRevokedError)
  })

  it('another client over a store with getEnded (another process) also answers GrantRevokedError', async () => {
    const { mock } = ctx
    const first = await setupClient(mock)
    const link = await linkAccount(mock, first.client)
    await link.revoke()
    const second = createConsentClient({
      issuer: ISSUER,
      clientId: first.clientId,
      privateKey: await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey),
      redirectUri: REDIRECT_URI,
      tokenStore: first.store,
    })
    const err = await rejection(second.link(link.grantId))
    expect(err).toBeInstanceOf(GrantRevokedError)
    expect(err).toMatchObject({ reason: 'revoked_by_client' })
  })
})
