import {
  GrantExpiredError,
  GrantRevokedError,
  LinkNotFoundError,
  ProtocolError,
  UnauthorizedError,
} from '@consentry/client'
import { HttpResponse, http } from 'msw'
import { describe, expect, it } from 'vitest'
import { ISSUER } from './mock-server.ts'
import { assertNoSecrets, linkAccount, rejection, setupClient, useMockServer } from './setup.ts'

const ctx = useMockServer()

const refreshCalls = (mock: typeof ctx.mock) =>
  mock.of('/token').filter((r) => r.form?.grant_type === 'refresh_token' && r.dpop?.nonce === mock.nonce)
const sentRefreshTokens = (mock: typeof ctx.mock) =>
  mock
    .of('/token')
    .filter((r) => r.form?.grant_type === 'refresh_token')
    .map((r) => r.form?.refresh_token as string)

describe('refresh', () => {
  it('refreshes shortly before expiry, rotates the refresh token, stores it, and never sends an old one again', async () => {
    const { mock } = ctx
    const { client, store, clock } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const first = await store.get(link.grantId)
    await link.accounts()
    expect(refreshCalls(mock)).toHaveLength(0)

    // 280 s later the 300 s token is inside the 30 s refresh window.
    clock.advance(280)
    await link.accounts()
    const second = await store.get(link.grantId)
    expect(refreshCalls(mock)).toHaveLength(1)
    expect(second?.refreshToken).not.toBe(first?.refreshToken)
    expect(second?.accessToken).not.toBe(first?.accessToken)
    expect(second?.accessTokenExpiresAt).toBe(clock.now() + 300_000)
    // The refresh proof uses the link's own DPoP key.
    const proofJwk = JSON.parse(
      Buffer.from(
        (mock.of('/token').at(-1)?.headers.dpop as string).split('.')[0] as string,
        'base64url',
      ).toString(),
    ).jwk
    expect(proofJwk.x).toBe(first?.dpopKey.publicKey.x)
    // The resource call after the refresh uses the new token.
    expect(mock.of('/api/accounts').at(-1)?.headers.authorization).toBe(`DPoP ${second?.accessToken}`)

    clock.advance(300)
    await link.accounts()
    // A second Link object for the same grant reads the rotated state from the store.
    clock.advance(300)
    await (await client.link(link.grantId)).accounts()
    const sent = sentRefreshTokens(mock)
    const distinct = new Set(sent.filter((_, i, all) => all.indexOf(sent[i] as string) === i))
    expect(refreshCalls(mock)).toHaveLength(3)
    // Every refresh token was sent at most once per nonce attempt: the old one never comes back.
    const successful = refreshCalls(mock).map((r) => r.form?.refresh_token)
    expect(new Set(successful).size).toBe(successful.length)
    expect(distinct.size).toBe(3)
    expect(successful[0]).toBe(first?.refreshToken)
    expect(successful[1]).toBe(second?.refreshToken)
  })

  it('shares one refresh between concurrent calls (also across Link objects of one grant)', async () => {
    const { mock } = ctx
    const { client, clock } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const twin = await client.link(link.grantId)
    clock.advance(400)
    const results = await Promise.all([
      link.accounts(),
      link.accounts(),
      twin.accounts(),
      link.accounts(),
      twin.accounts(),
    ])
    expect(results).toHaveLength(5)
    expect(
      mock.of('/token').filter((r) => r.form?.grant_type === 'refresh_token' && r.dpop?.nonce),
    ).toHaveLength(1)
    expect(new Set(sentRefreshTokens(mock)).size).toBe(1)
  })

  it('link.refresh() forces a rotation', async () => {
    const { mock } = ctx
    const { client, store } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const before = (await store.get(link.grantId))?.refreshToken
    await link.refresh()
    expect((await store.get(link.grantId))?.refreshToken).not.toBe(before)
  })

  it('refreshes once on 401 invalid_token and retries the read', async () => {
    const { mock } = ctx
    const { client, store } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const token = (await store.get(link.grantId))?.accessToken as string
    // The server stops accepting the current access token (e.g. key rotation), the grant stays active.
    const info = mock.accessTokens.get(token)
    if (info) info.valid = false
    const accounts = await link.accounts()
    expect(accounts).toHaveLength(1)
    expect(refreshCalls(mock)).toHaveLength(1)
    const calls = mock.of('/api/accounts')
    expect(calls.at(-1)?.headers.authorization).not.toBe(`DPoP ${token}`)
  })

  it('gives UnauthorizedError when a fresh token is refused although the grant is active', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(
      http.get(
        `${ISSUER}/api/accounts`,
        () =>
          new HttpResponse(null, {
            status: 401,
            headers: { 'www-authenticate': 'DPoP error="invalid_token"' },
          }),
      ),
    )
    const err = await rejection(link.accounts())
    expect(err).toBeInstanceOf(UnauthorizedError)
    expect(err.code).toBe('unauthorized')
    assertNoSecrets(err, mock.secrets)
  })

  it('a malformed refresh response gives ProtocolError and keeps the stored refresh token', async () => {
    const { mock } = ctx
    const { client, store, clock } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const before = await store.get(link.grantId)
    mock.config.tokenResponse = (b) => ({ ...b, grant_id: 'gr_someone_else' })
    clock.advance(400)
    const err = await rejection(link.accounts())
    expect(err).toBeInstanceOf(ProtocolError)
    assertNoSecrets(err, mock.secrets)
    // Nothing unvalidated is stored. (The server has spent the old refresh token by now, so the next
    // refresh would end the grant: a malformed token answer is not recoverable, by design of rotation.)
    expect((await store.get(link.grantId))?.refreshToken).toBe(before?.refreshToken)

    mock.config.tokenResponse = undefined
    const other = await linkAccount(mock, client)
    mock.config.tokenResponse = (b) => ({ ...b, expires_in: 'soon' })
    expect(await rejection(other.refresh())).toBeInstanceOf(ProtocolError)
  })
})

describe('ended grants', () => {
  it('refresh invalid_grant on a revoked grant gives GrantRevokedError and forgets the link', async () => {
    const { mock } = ctx
    const { client, store, clock } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const grant = mock.grants.get(link.grantId)
    if (grant) grant.status = 'revoked'
    clock.advance(400)
    const err = await rejection(link.accounts())
    expect(err).toBeInstanceOf(GrantRevokedError)
    expect(err.code).toBe('grant_revoked')
    expect((err as GrantRevokedError).grantId).toBe(link.grantId)
    assertNoSecrets(err, mock.secrets)
    expect(await store.get(link.grantId)).toBeUndefined()
    // The tokens are gone, the revocation is remembered: re-opening names it again.
    const again = await rejection(client.link(link.grantId))
    expect(again).toBeInstanceOf(GrantRevokedError)
    expect(again).not.toBeInstanceOf(LinkNotFoundError)
  })

  it('a revoked grant seen at the resource (401 invalid_token, then refresh invalid_grant) gives GrantRevokedError', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const grant = mock.grants.get(link.grantId)
    if (grant) grant.status = 'revoked'
    const err = await rejection(link.transactionPages({ accountId: 'acc_1' }).next())
    expect(err).toBeInstanceOf(GrantRevokedError)
    expect(mock.of('/api/accounts/acc_1/transactions').length).toBeGreaterThan(0)
    expect(mock.of('/token').some((r) => r.form?.grant_type === 'refresh_token')).toBe(true)
  })

  it('refresh invalid_grant with grant status "expired" gives GrantExpiredError', async () => {
    const { mock } = ctx
    const { client, clock } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const grant = mock.grants.get(link.grantId)
    if (grant) grant.status = 'expired'
    clock.advance(400)
    const err = await rejection(link.accounts())
    expect(err).toBeInstanceOf(GrantExpiredError)
    expect(err.code).toBe('grant_expired')
    // The status came from grant management with a client_credentials, DPoP-bound token.
    const cc = mock.of('/token').filter((r) => r.form?.grant_type === 'client_credentials')
    expect(cc.at(-1)?.form?.scope).toBe('grant_management_query grant_management_revoke')
    expect(mock.of(`/grants/${link.grantId}`, 'GET').length).toBeGreaterThan(0)
  })

  it('a grant past its known expiry gives GrantExpiredError without a request', async () => {
    const { mock } = ctx
    const { client, clock } = await setupClient(mock)
    const link = await linkAccount(mock, client, { expiresIn: 3600 })
    expect(link.grant.expiresAt?.getTime()).toBe(clock.now() + 3600_000)
    clock.advance(3601)
    const before = mock.requests.length
    const err = await rejection(link.accounts())
    expect(err).toBeInstanceOf(GrantExpiredError)
    expect(mock.requests.length).toBe(before)
  })

  it('reusing an old refresh token (e.g. a lost store write) surfaces as GrantRevokedError', async () => {
    const { mock } = ctx
    const { client, store } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const stale = await store.get(link.grantId)
    await link.refresh()
    // Put the old state back, as if the rotation had not been saved.
    if (stale) await store.set(link.grantId, stale)
    const err = await rejection(link.refresh())
    expect(err).toBeInstanceOf(GrantRevokedError)
  })
})
