import {
  createConsentClient,
  GRANT_AMENDED_EVENT,
  GRANT_ENDED_EVENT,
  GRANT_EXPIRING_EVENT,
  GrantRevokedError,
  InvalidEventError,
  InvalidRequestError,
  LinkNotFoundError,
  NotFoundError,
  ProtocolError,
  registerClient,
  UnauthorizedError,
  verifyEvent,
} from '@consentry/client'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { HttpResponse, http } from 'msw'
import { describe, expect, it } from 'vitest'
import { ISSUER, REDIRECT_URI } from './mock-server.ts'
import { linkAccount, rejection, setupClient, useMockServer } from './setup.ts'

const ctx = useMockServer()

describe('grant management', () => {
  it('status() reads GET /grants/{id} with a cached, DPoP-bound client_credentials token', async () => {
    const { mock } = ctx
    const { client, clientId } = await setupClient(mock)
    const link = await linkAccount(mock, client, { expiresIn: 7200 })
    const s1 = await link.status()
    expect(s1).toMatchObject({ grantId: link.grantId, status: 'active', clientId })
    expect(s1.expiresAt).toBeInstanceOf(Date)
    expect(s1.authorizationDetails[0]?.type).toBe('transaction_history')
    await link.status()
    const cc = mock.of('/token').filter((r) => r.form?.grant_type === 'client_credentials' && r.dpop?.nonce)
    expect(cc).toHaveLength(1)
    expect(cc[0]?.form?.scope).toBe('grant_management_query grant_management_revoke')
    const gets = mock.of(`/grants/${link.grantId}`, 'GET')
    expect(gets).toHaveLength(2)
    expect(gets[0]?.headers.authorization).toMatch(/^DPoP /)
    expect(gets[0]?.dpop).toMatchObject({ htm: 'GET', htu: `${ISSUER}/grants/${link.grantId}` })
    expect(typeof gets[0]?.dpop?.ath).toBe('string')
    // The authoritative expiry replaces the estimate.
    expect(link.grant.expiresAt?.getTime()).toBe(s1.expiresAt.getTime())
  })

  it('status() reports an ended grant, 404 as NotFoundError, malformed as ProtocolError', async () => {
    const { mock } = ctx
    const { client } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const grant = mock.grants.get(link.grantId)
    if (grant) grant.status = 'revoked'
    expect((await link.status()).status).toBe('revoked')
    mock.grants.delete(link.grantId)
    expect(await rejection(link.status())).toBeInstanceOf(NotFoundError)
    mock.server.use(
      http.get(`${ISSUER}/grants/:id`, () => HttpResponse.json({ grant_id: link.grantId, status: 'weird' })),
    )
    expect(await rejection(link.status())).toBeInstanceOf(ProtocolError)
  })

  it('revoke() deletes the grant on the server and the link from the token store, keeping a tombstone', async () => {
    const { mock } = ctx
    const { client, store } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    await link.revoke()
    expect(mock.of(`/grants/${link.grantId}`, 'DELETE')).toHaveLength(1)
    expect(mock.grants.get(link.grantId)?.status).toBe('revoked')
    expect(await store.get(link.grantId)).toBeUndefined()
    expect(await store.getEnded(link.grantId)).toMatchObject({
      status: 'revoked',
      reason: 'revoked_by_client',
    })
    // Later calls on the grant name the revocation, not a missing link.
    for (const err of [await rejection(client.link(link.grantId)), await rejection(link.accounts())]) {
      expect(err).toBeInstanceOf(GrantRevokedError)
      expect(err).toMatchObject({ grantId: link.grantId, reason: 'revoked_by_client' })
    }
    expect(await rejection(client.link('gr_never_linked'))).toBeInstanceOf(LinkNotFoundError)
  })

  it('revoke() falls back to RFC 7009 revocation of the refresh token without grant management', async () => {
    const { mock } = ctx
    mock.config.metadata = { grant_management_endpoint: undefined }
    const { client, store } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const rt = (await store.get(link.grantId))?.refreshToken
    await link.revoke()
    const [call] = mock.of('/revoke')
    expect(call?.form).toMatchObject({ token: rt, token_type_hint: 'refresh_token' })
    expect(call?.form?.client_assertion).toBeTypeOf('string')
    expect(mock.grants.get(link.grantId)?.status).toBe('revoked')
    expect(await store.get(link.grantId)).toBeUndefined()
  })

  it('revoke() falls back to RFC 7009 when the server refuses the grant-management token', async () => {
    const { mock } = ctx
    const { client, store } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    mock.server.use(
      http.post(`${ISSUER}/token`, () =>
        HttpResponse.json(
          { error: 'unauthorized_client' },
          { status: 400, headers: { 'dpop-nonce': mock.nonce } },
        ),
      ),
    )
    await link.revoke()
    expect(mock.of('/revoke')).toHaveLength(1)
    expect(await store.get(link.grantId)).toBeUndefined()
  })
})

describe('registerClient', () => {
  it('generates a key pair, registers the public JWKS with the initial access token and returns a usable config', async () => {
    const { mock } = ctx
    const config = await registerClient({
      issuer: ISSUER,
      initialAccessToken: 'iat-good',
      clientName: 'Beacon Lending',
      redirectUris: [REDIRECT_URI],
      webhookUri: 'http://127.0.0.1:3000/events',
    })
    const [call] = mock.of('/register')
    expect(call?.headers.authorization).toBe('Bearer iat-good')
    const body = call?.json as Record<string, unknown> & { jwks: { keys: Record<string, unknown>[] } }
    expect(body).toMatchObject({
      client_name: 'Beacon Lending',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'private_key_jwt',
      webhook_uri: 'http://127.0.0.1:3000/events',
    })
    expect(body.jwks.keys).toHaveLength(1)
    expect(body.jwks.keys[0]).not.toHaveProperty('d')
    expect(body.jwks.keys[0]).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      kid: config.privateKeyKid,
    })
    expect(config).toMatchObject({
      issuer: ISSUER,
      alg: 'ES256',
      redirectUri: REDIRECT_URI,
      clientName: 'Beacon Lending',
    })
    expect(config.privateKey.d).toBeTypeOf('string')
    expect(JSON.parse(JSON.stringify(config))).toEqual(config)

    // The config works as-is: a full link with it.
    const client = createConsentClient(config)
    const link = await linkAccount(mock, client)
    expect(link.grant.accounts).toEqual(['acc_1'])
  })

  it('rejects a bad initial access token (401) and bad input before any request', async () => {
    const { mock } = ctx
    const err = await rejection(
      registerClient({
        issuer: ISSUER,
        initialAccessToken: 'iat-bad',
        clientName: 'x',
        redirectUris: [REDIRECT_URI],
      }),
    )
    expect(err).toBeInstanceOf(UnauthorizedError)
    expect(err.message).not.toContain('iat-bad')
    const before = mock.requests.length
    expect(
      await rejection(
        registerClient({
          issuer: ISSUER,
          initialAccessToken: 'iat-good',
          clientName: 'x',
          redirectUris: ['http://lender.example/cb'],
        }),
      ),
    ).toBeInstanceOf(InvalidRequestError)
    expect(
      await rejection(
        registerClient({
          issuer: ISSUER,
          initialAccessToken: 'iat-good',
          clientName: ' ',
          redirectUris: [REDIRECT_URI],
        }),
      ),
    ).toBeInstanceOf(InvalidRequestError)
    expect(mock.requests.length).toBe(before)
  })
})

describe('events', () => {
  const grantEnded = (clientId: string, grantId: string, status = 'revoked') => ({
    iss: ISSUER,
    aud: clientId,
    events: { [GRANT_ENDED_EVENT]: { grant_id: grantId, status, reason: 'revoked_by_subject' } },
  })

  it('verifyEvent checks signature, typ, iss and aud against the issuer JWKS', async () => {
    const { mock } = ctx
    const { client, clientId } = await setupClient(mock)
    const jwt = await mock.signEvent(grantEnded(clientId, 'gr_1'))
    const event = await client.verifyEvent(jwt)
    expect(event).toMatchObject({ grantId: 'gr_1', status: 'revoked', reason: 'revoked_by_subject' })
    expect(mock.of('/jwks')).toHaveLength(1)

    const bad = [
      await mock.signEvent({ ...grantEnded(clientId, 'gr_1'), aud: 'someone-else' }),
      await mock.signEvent({ ...grantEnded(clientId, 'gr_1'), iss: 'https://other.example' }),
      await mock.signEvent(grantEnded(clientId, 'gr_1'), { typ: 'JWT' }),
      await mock.signEvent({ iss: ISSUER, aud: clientId, events: { 'urn:other': {} } }),
      await mock.signEvent({
        iss: ISSUER,
        aud: clientId,
        events: { [GRANT_ENDED_EVENT]: { status: 'revoked' } },
      }),
      `${jwt.slice(0, -4)}AAAA`,
      'not-a-jwt',
    ]
    const { privateKey } = await generateKeyPair('ES256')
    bad.push(
      await new SignJWT(grantEnded(clientId, 'gr_1'))
        .setProtectedHeader({ alg: 'ES256', typ: 'secevent+jwt', kid: 'srv-1' })
        .setIssuedAt()
        .setJti('x')
        .sign(privateKey),
    )
    for (const token of bad) {
      const err = await rejection(client.verifyEvent(token))
      expect(err).toBeInstanceOf(InvalidEventError)
      expect(err.code).toBe('invalid_event')
    }
  })

  it('standalone verifyEvent works with a JWKS object', async () => {
    const { mock } = ctx
    const jwt = await mock.signEvent(grantEnded('cl_x', 'gr_2', 'expired'))
    const jwks = { keys: [(await mock.serverKey()).publicJwk] }
    const event = await verifyEvent(jwt, { issuer: ISSUER, clientId: 'cl_x', jwks })
    expect(event).toMatchObject({ grantId: 'gr_2', status: 'expired' })
    expect(event.issuedAt).toBeInstanceOf(Date)
  })

  it('webhookHandler answers 202 for a valid event (forgetting the link), 400 / 405 / 415 otherwise', async () => {
    const { mock } = ctx
    const { client, clientId, store } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const seen: string[] = []
    const handle = client.webhookHandler((e) => {
      seen.push(`${e.grantId}:${e.type === 'grant-ended' ? e.status : e.type}`)
    })
    const post = (body: string, type = 'application/secevent+jwt') =>
      handle(
        new Request('http://127.0.0.1:3000/events', {
          method: 'POST',
          body,
          headers: { 'content-type': type },
        }),
      )

    const ok = await post(await mock.signEvent(grantEnded(clientId, link.grantId)))
    expect(ok.status).toBe(202)
    expect(seen).toEqual([`${link.grantId}:revoked`])
    expect(await store.get(link.grantId)).toBeUndefined()

    const bad = await post(await mock.signEvent(grantEnded('another-client', link.grantId)))
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ err: 'invalid_request' })
    expect((await post('x', 'application/json')).status).toBe(415)
    expect((await handle(new Request('http://127.0.0.1:3000/events'))).status).toBe(405)
    expect(seen).toHaveLength(1)

    const failing = client.webhookHandler(() => {
      throw new Error('db down')
    })
    const res = await failing(
      new Request('http://127.0.0.1:3000/events', {
        method: 'POST',
        body: await mock.signEvent(grantEnded(clientId, 'gr_z')),
        headers: { 'content-type': 'application/secevent+jwt' },
      }),
    )
    expect(res.status).toBe(500)
  })
})

describe('events of a changing grant', () => {
  it('parses grant-amended and grant-expiring as typed events; malformed ones are InvalidEventError', async () => {
    const { mock } = ctx
    const { client, clientId } = await setupClient(mock)
    const details = [{ type: 'transaction_history', accounts: ['acc_1'] }]
    const amended = await client.verifyEvent(
      await mock.signEvent({
        iss: ISSUER,
        aud: clientId,
        events: {
          [GRANT_AMENDED_EVENT]: {
            grant_id: 'gr_1',
            action: 'narrow',
            by: 'subject',
            authorization_details: details,
            expires_at: '2027-01-31T00:00:00.000Z',
            consent_receipt: 'a.b.c',
          },
        },
      }),
    )
    expect(amended).toMatchObject({
      type: 'grant-amended',
      grantId: 'gr_1',
      action: 'narrow',
      by: 'subject',
      authorizationDetails: details,
      expiresAt: new Date('2027-01-31T00:00:00.000Z'),
      consentReceipt: 'a.b.c',
    })
    const expiring = await client.verifyEvent(
      await mock.signEvent({
        iss: ISSUER,
        aud: clientId,
        events: { [GRANT_EXPIRING_EVENT]: { grant_id: 'gr_1', expires_at: '2027-01-31T00:00:00.000Z' } },
      }),
    )
    expect(expiring).toMatchObject({ type: 'grant-expiring', grantId: 'gr_1' })
    const ended = await client.verifyEvent(
      await mock.signEvent({
        iss: ISSUER,
        aud: clientId,
        events: { [GRANT_ENDED_EVENT]: { grant_id: 'gr_1', status: 'revoked' } },
      }),
    )
    expect(ended).toMatchObject({ type: 'grant-ended', status: 'revoked' })
    for (const body of [
      { [GRANT_AMENDED_EVENT]: { grant_id: 'gr_1', action: 'merge', by: 'client', expires_at: 'x' } },
      { [GRANT_AMENDED_EVENT]: { grant_id: 'gr_1', by: 'client', authorization_details: details } },
      { [GRANT_EXPIRING_EVENT]: { grant_id: 'gr_1' } },
    ]) {
      const err = await rejection(
        client.verifyEvent(await mock.signEvent({ iss: ISSUER, aud: clientId, events: body })),
      )
      expect(err).toBeInstanceOf(InvalidEventError)
    }
  })

  it('the webhook handler keeps the link on grant-amended (updating it) and drops it on grant-ended', async () => {
    const { mock } = ctx
    const { client, clientId, store } = await setupClient(mock)
    const link = await linkAccount(mock, client)
    const seen: string[] = []
    const handle = client.webhookHandler((e) => {
      seen.push(e.type)
    })
    const post = async (events: Record<string, unknown>) =>
      (
        await handle(
          new Request('http://127.0.0.1:3000/events', {
            method: 'POST',
            body: await mock.signEvent({ iss: ISSUER, aud: clientId, events }),
            headers: { 'content-type': 'application/secevent+jwt' },
          }),
        )
      ).status
    const narrowed = [{ type: 'transaction_history', accounts: ['acc_1'], fields: ['amount'] }]
    expect(
      await post({
        [GRANT_AMENDED_EVENT]: {
          grant_id: link.grantId,
          action: 'narrow',
          by: 'subject',
          authorization_details: narrowed,
          expires_at: '2027-01-31T00:00:00.000Z',
        },
      }),
    ).toBe(202)
    expect((await store.get(link.grantId))?.authorizationDetails).toEqual(narrowed)
    expect((await store.get(link.grantId))?.grantExpiresAt).toBe(Date.parse('2027-01-31T00:00:00.000Z'))
    expect(await post({ [GRANT_ENDED_EVENT]: { grant_id: link.grantId, status: 'revoked' } })).toBe(202)
    expect(await store.get(link.grantId)).toBeUndefined()
    expect(seen).toEqual(['grant-amended', 'grant-ended'])
  })
})

describe('token store and restarts', () => {
  it('a new client over the same store re-opens the link and keeps reading', async () => {
    const { mock } = ctx
    const first = await setupClient(mock)
    const link = await linkAccount(mock, first.client)
    // Same client identity and store, new process.
    const again = createConsentClient({
      issuer: ISSUER,
      clientId: first.clientId,
      privateKey: await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey),
      redirectUri: REDIRECT_URI,
      tokenStore: first.store,
    })
    const reopened = await again.link(link.grantId)
    // Reads need only the link's DPoP key and tokens, not the client key.
    expect(await reopened.accounts()).toHaveLength(1)
    expect(reopened.grant).toEqual(link.grant)
  })
})
