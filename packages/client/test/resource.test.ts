import {
  InvalidRequestError,
  NotFoundError,
  OutsideConsentError,
  ProtocolError,
  RateLimitedError,
  ServerError,
} from '@consentry/client'
import { HttpResponse, http } from 'msw'
import { describe, expect, it } from 'vitest'
import { makeTransactions, RESOURCE } from './mock-server.ts'
import { assertNoSecrets, linkAccount, rejection, setupClient, useMockServer } from './setup.ts'

const ctx = useMockServer()

const ath = async (token: string) =>
  Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))).toString('base64url')

describe('reading', () => {
  it('lists accounts with a DPoP proof bound to the access token (ath, htu without query)', async () => {
    const { mock } = ctx
    const { client, store } = await setupClient(mock)
    const link = await linkAccount(mock, client, { accounts: ['acc_1', 'acc_2'] })
    const accounts = await link.accounts()
    expect(accounts.map((a) => a.id)).toEqual(['acc_1', 'acc_2'])
    const [call] = mock.of('/api/accounts')
    const token = (await store.get(link.grantId))?.accessToken as string
    expect(call?.headers.authorization).toBe(`DPoP ${token}`)
    expect(call?.dpop).toMatchObject({
      htm: 'GET',
      htu: `${RESOURCE}/accounts`,
      ath: await ath(token),
      nonce: mock.nonce,
    })
    expect(call?.headers['x-fapi-customer-ip-address']).toBeUndefined()
  })

  it('retries once with the new nonce on use_dpop_nonce at the resource', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const old = mock.nonce
    const fresh = mock.rotateNonce()
    await link.accounts()
    const calls = mock.of('/api/accounts')
    expect(calls).toHaveLength(2)
    expect(calls[0]?.dpop?.nonce).toBe(old)
    expect(calls[1]?.dpop?.nonce).toBe(fresh)
    expect(calls[1]?.dpop?.jti).not.toBe(calls[0]?.dpop?.jti)
  })

  it('does not loop when the server keeps asking for a new nonce', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(
      http.get(`${RESOURCE}/accounts`, () => {
        mock.rotateNonce()
        return new HttpResponse(null, {
          status: 401,
          headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': mock.nonce },
        })
      }),
    )
    const err = await rejection(link.accounts())
    expect(err.code).toBe('request_rejected')
    expect((err as { serverError?: string }).serverError).toBe('use_dpop_nonce')
  })

  it('sends x-fapi-customer-ip-address only when the person is present', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    await link.accounts({ customerIpAddress: '203.0.113.7' })
    await link.accounts()
    const calls = mock.of('/api/accounts')
    expect(calls[0]?.headers['x-fapi-customer-ip-address']).toBe('203.0.113.7')
    expect(calls[1]?.headers['x-fapi-customer-ip-address']).toBeUndefined()
    expect(await rejection(link.accounts({ customerIpAddress: 'not an ip\r\nx: y' }))).toBeInstanceOf(
      InvalidRequestError,
    )
  })

  it('follows next_cursor through 3 pages and yields every transaction in order', async () => {
    const { mock } = ctx
    mock.config.transactions = makeTransactions(7)
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const seen: string[] = []
    for await (const tx of link.transactions({
      accountId: 'acc_1',
      from: '2025-01-01',
      to: '2025-03-31',
      pageSize: 3,
    }))
      seen.push(tx.id)
    expect(seen).toEqual(mock.config.transactions.map((t) => t.id))
    const calls = mock.of('/api/accounts/acc_1/transactions')
    expect(calls).toHaveLength(3)
    const params = calls.map((c) => Object.fromEntries(new URL(c.url).searchParams))
    expect(params[0]).toEqual({ from: '2025-01-01', to: '2025-03-31', limit: '3' })
    expect(params[1]).toEqual({ from: '2025-01-01', to: '2025-03-31', limit: '3', cursor: 'c3' })
    expect(params[2]).toEqual({ from: '2025-01-01', to: '2025-03-31', limit: '3', cursor: 'c6' })
    for (const c of calls) expect(c.dpop?.htu).toBe(`${RESOURCE}/accounts/acc_1/transactions`)

    const pages = []
    for await (const page of link.transactionPages({ accountId: 'acc_1', pageSize: 3 })) pages.push(page)
    expect(pages.map((p) => p.data.length)).toEqual([3, 3, 1])
    expect(pages[0]?.next_cursor).toBe('c3')
    expect(pages[2]?.next_cursor).toBeUndefined()
  })

  it('stops with ProtocolError when the server repeats a cursor', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(
      http.get(`${RESOURCE}/accounts/:id/transactions`, () =>
        HttpResponse.json(
          { data: [{ id: 't', account_id: 'acc_1' }], next_cursor: 'same' },
          { headers: { 'dpop-nonce': mock.nonce } },
        ),
      ),
    )
    const ids: string[] = []
    const err = await rejection(
      (async () => {
        for await (const tx of link.transactions({ accountId: 'acc_1' })) ids.push(tx.id)
      })(),
    )
    expect(err).toBeInstanceOf(ProtocolError)
    expect(ids).toEqual(['t', 't'])
  })

  it('validates reading options before any request', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const before = mock.requests.length
    const bad = [
      { accountId: '' },
      { accountId: 'acc_1', from: '2025-13-01' },
      { accountId: 'acc_1', from: '2025-03-01', to: '2025-02-01' },
      { accountId: 'acc_1', pageSize: 0 },
      { accountId: 'acc_1', pageSize: 501 },
      { accountId: 'acc_1', pageSize: 2.5 },
    ]
    for (const options of bad) {
      const err = await rejection(link.transactionPages(options).next())
      expect(err).toBeInstanceOf(InvalidRequestError)
    }
    expect(mock.requests.length).toBe(before)
  })
})

describe('resource errors', () => {
  it('429 with Retry-After gives RateLimitedError.retryAfter (seconds, or an HTTP date)', async () => {
    const { mock } = ctx
    const { client, clock } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(
      http.get(`${RESOURCE}/accounts/:id/transactions`, () =>
        HttpResponse.json(
          {
            type: 'urn:consentry:problem:read_limit_exceeded',
            title: 'Read limit reached',
            status: 429,
            code: 'read_limit_exceeded',
          },
          {
            status: 429,
            headers: {
              'retry-after': '3600',
              'content-type': 'application/problem+json',
              'dpop-nonce': mock.nonce,
            },
          },
        ),
      ),
    )
    const err = await rejection(link.transactionPages({ accountId: 'acc_1' }).next())
    expect(err).toBeInstanceOf(RateLimitedError)
    expect(err.code).toBe('read_limit_exceeded')
    expect((err as RateLimitedError).retryAfter).toBe(3600)
    expect((err as RateLimitedError).status).toBe(429)
    assertNoSecrets(err, mock.secrets)

    const at = new Date(clock.now() + 90_000).toUTCString()
    mock.server.use(
      http.get(
        `${RESOURCE}/accounts`,
        () => new HttpResponse(null, { status: 429, headers: { 'retry-after': at } }),
      ),
    )
    const err2 = (await rejection(link.accounts())) as RateLimitedError
    expect(err2).toBeInstanceOf(RateLimitedError)
    expect(err2.retryAfter).toBeGreaterThanOrEqual(89)
    expect(err2.retryAfter).toBeLessThanOrEqual(90)
  })

  it('403 outside_consent gives OutsideConsentError', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client, { accounts: ['acc_1'] })
    const err = await rejection(link.transactionPages({ accountId: 'acc_9' }).next())
    expect(err).toBeInstanceOf(OutsideConsentError)
    expect(err.code).toBe('outside_consent')
    expect((err as OutsideConsentError).grantId).toBe(link.grantId)
  })

  it('400 invalid_cursor gives InvalidRequestError, 404 NotFoundError, 5xx ServerError', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(
      http.get(`${RESOURCE}/accounts/:id/transactions`, () =>
        HttpResponse.json(
          {
            code: 'invalid_cursor',
            status: 400,
            title: 'Invalid cursor',
            type: 'urn:consentry:problem:invalid_cursor',
          },
          {
            status: 400,
            headers: { 'content-type': 'application/problem+json' },
          },
        ),
      ),
      http.get(`${RESOURCE}/accounts`, () => new HttpResponse('busy', { status: 503 })),
    )
    const e1 = await rejection(link.transactionPages({ accountId: 'acc_1' }).next())
    expect(e1).toBeInstanceOf(InvalidRequestError)
    expect((e1 as InvalidRequestError).serverError).toBe('invalid_cursor')
    const e2 = await rejection(link.accounts())
    expect(e2).toBeInstanceOf(ServerError)
    mock.server.use(
      http.get(`${RESOURCE}/accounts`, () => HttpResponse.json({ code: 'not_found' }, { status: 404 })),
    )
    expect(await rejection(link.accounts())).toBeInstanceOf(NotFoundError)
  })

  it.each([
    [
      'invalid JSON',
      () => new HttpResponse('{"data": [', { headers: { 'content-type': 'application/json' } }),
    ],
    ['not JSON at all', () => new HttpResponse('<html/>', { headers: { 'content-type': 'text/html' } })],
    ['missing data', () => HttpResponse.json({ accounts: [] })],
    [
      'an account without id',
      () => HttpResponse.json({ data: [{ name: 'x', type: 'wallet', currency: 'EUR' }] }),
    ],
    [
      'an unexpected status',
      () => new HttpResponse(null, { status: 302, headers: { location: 'https://elsewhere.example' } }),
    ],
  ])('a malformed answer (%s) gives ProtocolError', async (_name, reply) => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(http.get(`${RESOURCE}/accounts`, reply))
    const err = await rejection(link.accounts())
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.code).toBe('protocol_error')
    assertNoSecrets(err, mock.secrets)
  })

  it('a transactions page missing members gives ProtocolError', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(
      http.get(`${RESOURCE}/accounts/:id/transactions`, () =>
        HttpResponse.json({ data: [{ amount: '1.00' }] }),
      ),
    )
    expect(await rejection(link.transactionPages({ accountId: 'acc_1' }).next())).toBeInstanceOf(
      ProtocolError,
    )
  })

  it('an unreachable server gives NetworkError', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(http.get(`${RESOURCE}/accounts`, () => HttpResponse.error()))
    const err = await rejection(link.accounts())
    expect(err.code).toBe('network_error')
  })
})
