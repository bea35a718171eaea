/**
 * `client.sandbox` against the msw mock: what goes on the wire (client assertion, DPoP proof with the
 * nonce on the retry, a fresh assertion per attempt), what is stored, and how odd answers are refused.
 * The real server is exercised in test/sandbox.test.ts.
 */
import {
  ConfigurationError,
  InvalidRequestError,
  ProtocolError,
  RequestRejectedError,
} from '@consentry/client'
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  type JWK,
  jwtVerify,
} from 'jose'
import { HttpResponse, http } from 'msw'
import { describe, expect, it } from 'vitest'
import { ISSUER } from './mock-server.ts'
import { DETAIL, rejection, setupClient, useMockServer } from './setup.ts'

const ctx = useMockServer()
const LINK = `${ISSUER}/sandbox/link`
const REVOKE = `${ISSUER}/sandbox/revoke`

interface Seen {
  form: Record<string, string>
  dpop?: string
}

/** Announce the sandbox and answer its link endpoint: nonce first, then `answer`. */
function sandboxServer(answer: (seen: Seen) => Response = () => tokenResponse()) {
  const { mock } = ctx
  mock.config.metadata.sandbox_link_endpoint = LINK
  mock.config.metadata.sandbox_revoke_endpoint = REVOKE
  const seen: Seen[] = []
  mock.server.use(
    http.post(LINK, async ({ request }) => {
      const form = Object.fromEntries(new URLSearchParams(await request.text()))
      const dpop = request.headers.get('dpop') ?? undefined
      seen.push({ form, ...(dpop ? { dpop } : {}) })
      if (!dpop || decodeJwt(dpop).nonce !== 'n-1')
        return HttpResponse.json(
          { error: 'use_dpop_nonce', error_description: 'use the server nonce' },
          { status: 400, headers: { 'dpop-nonce': 'n-1' } },
        )
      return answer(seen.at(-1)!)
    }),
  )
  return seen
}

const tokenResponse = (over: Record<string, unknown> = {}) =>
  HttpResponse.json(
    {
      access_token: 'at-sandbox',
      token_type: 'DPoP',
      expires_in: 300,
      refresh_token: 'rt-sandbox',
      grant_id: 'gr_sandbox',
      authorization_details: [{ ...DETAIL, accounts: ['acc_1', 'acc_2'] }],
      ...over,
    },
    { headers: { 'cache-control': 'no-store' } },
  )

describe('client.sandbox.link', () => {
  it('posts subject and details with a client assertion and a DPoP proof, retrying once with the nonce', async () => {
    const seen = sandboxServer()
    const { client, store, clientId } = await setupClient(ctx.mock)
    const link = await client.sandbox.link({ subject: 'alice', authorizationDetails: [DETAIL] })

    expect(seen).toHaveLength(2)
    const [first, second] = seen as [Seen, Seen]
    for (const { form } of seen) {
      expect(form.subject).toBe('alice')
      expect(JSON.parse(form.authorization_details!)).toEqual([{ ...DETAIL, max_reads_per_day: 4 }])
      expect(form.client_id).toBe(clientId)
      expect(form.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      expect(decodeJwt(form.client_assertion!)).toMatchObject({ iss: clientId, sub: clientId, aud: ISSUER })
    }
    // The assertion's jti is single-use at the server: the retry signs a new one.
    expect(decodeJwt(first.form.client_assertion!).jti).not.toBe(decodeJwt(second.form.client_assertion!).jti)
    // RFC 9449 §4.2: a proof for this endpoint, its public key only, the nonce on the retry.
    const { payload, protectedHeader } = await jwtVerify(second.dpop!, EmbeddedJWK, { typ: 'dpop+jwt' })
    expect(payload).toMatchObject({ htm: 'POST', htu: LINK, nonce: 'n-1' })
    expect(typeof payload.jti).toBe('string')
    expect(protectedHeader.jwk).not.toHaveProperty('d')
    expect(decodeJwt(first.dpop!).nonce).toBeUndefined()

    // Stored and returned like a completed link, bound to the proof's key.
    expect(link.grantId).toBe('gr_sandbox')
    expect(link.grant.accounts).toEqual(['acc_1', 'acc_2'])
    const state = await store.get('gr_sandbox')
    expect(state).toMatchObject({ accessToken: 'at-sandbox', refreshToken: 'rt-sandbox', clientId })
    expect(await calculateJwkThumbprint(state!.dpopKey.publicKey)).toBe(
      await calculateJwkThumbprint(decodeProtectedHeader(second.dpop!).jwk as JWK),
    )
  })

  it('checks its input before any request', async () => {
    const seen = sandboxServer()
    const { client } = await setupClient(ctx.mock)
    for (const subject of ['', 'a\nb', 'x'.repeat(257), 42 as never])
      expect(
        await rejection(client.sandbox.link({ subject, authorizationDetails: [DETAIL] })),
      ).toBeInstanceOf(InvalidRequestError)
    expect(
      await rejection(client.sandbox.link({ subject: 'alice', authorizationDetails: [{ type: 'nope' }] })),
    ).toBeInstanceOf(InvalidRequestError)
    expect(seen).toHaveLength(0)
  })

  it('refuses answers a code exchange would not accept', async () => {
    sandboxServer(() => tokenResponse({ token_type: 'Bearer' }))
    const { client, store } = await setupClient(ctx.mock)
    const err = await rejection(client.sandbox.link({ subject: 'alice', authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.message).toContain('not DPoP-bound')
    expect(await store.get('gr_sandbox')).toBeUndefined()
  })

  it('refuses a granted detail type that was not requested', async () => {
    sandboxServer(() => tokenResponse({ authorization_details: [{ type: 'other_type' }] }))
    const { client } = await setupClient(ctx.mock)
    const err = await rejection(client.sandbox.link({ subject: 'alice', authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(ProtocolError)
  })

  it('maps the server’s refusal, in its own words', async () => {
    sandboxServer(() =>
      HttpResponse.json(
        { error: 'invalid_request', error_description: 'subject is not a person this holder knows' },
        { status: 400 },
      ),
    )
    const { client } = await setupClient(ctx.mock)
    const err = await rejection(client.sandbox.link({ subject: 'mallory', authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(InvalidRequestError)
    expect(err.message).toContain('subject is not a person this holder knows')
  })

  it('a holder without a sandbox: ConfigurationError, nothing sent', async () => {
    const { client } = await setupClient(ctx.mock)
    const err = await rejection(client.sandbox.link({ subject: 'alice', authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(ConfigurationError)
    expect(err.message).toContain('sandbox_link_endpoint')
  })

  it('an endpoint announced on plain http elsewhere than loopback is refused at discovery', async () => {
    ctx.mock.config.metadata.sandbox_link_endpoint = 'http://sandbox.example/link'
    const { client } = await setupClient(ctx.mock)
    const err = await rejection(client.sandbox.link({ subject: 'alice', authorizationDetails: [DETAIL] }))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.message).toContain('sandbox_link_endpoint')
  })
})

describe('client.sandbox.revoke', () => {
  it('posts grant_id with a client assertion and reports what happened, leaving the token store alone', async () => {
    sandboxServer()
    const forms: Array<Record<string, string>> = []
    ctx.mock.server.use(
      http.post(REVOKE, async ({ request }) => {
        forms.push(Object.fromEntries(new URLSearchParams(await request.text())))
        return HttpResponse.json({
          grant_id: 'gr_sandbox',
          status: 'revoked',
          ended_reason: 'sandbox_revoked',
          event_queued: true,
        })
      }),
    )
    const { client, store, clientId } = await setupClient(ctx.mock)
    await client.sandbox.link({ subject: 'alice', authorizationDetails: [DETAIL] })
    expect(await client.sandbox.revoke('gr_sandbox')).toEqual({
      grantId: 'gr_sandbox',
      status: 'revoked',
      reason: 'sandbox_revoked',
      eventQueued: true,
    })
    expect(forms).toHaveLength(1)
    expect(forms[0]).toMatchObject({ grant_id: 'gr_sandbox', client_id: clientId })
    expect(decodeJwt(forms[0]!.client_assertion!).aud).toBe(ISSUER)
    // The webhook (or the next call) ends the link, as it would after a real revocation.
    expect(await store.get('gr_sandbox')).toBeDefined()
  })

  it('maps a refusal and refuses a malformed answer', async () => {
    sandboxServer()
    let answer = () =>
      HttpResponse.json(
        { error: 'invalid_grant', error_description: 'no such grant for this client' },
        { status: 400 },
      )
    ctx.mock.server.use(http.post(REVOKE, () => answer()))
    const { client } = await setupClient(ctx.mock)
    const refused = await rejection(client.sandbox.revoke('gr_other'))
    expect(refused).toBeInstanceOf(RequestRejectedError)
    expect((refused as RequestRejectedError).serverError).toBe('invalid_grant')
    answer = () => HttpResponse.json({ grant_id: 'gr_else', status: 'revoked', ended_reason: 'x' })
    expect(await rejection(client.sandbox.revoke('gr_other'))).toBeInstanceOf(ProtocolError)
    expect(await rejection(client.sandbox.revoke(''))).toBeInstanceOf(InvalidRequestError)
  })
})
