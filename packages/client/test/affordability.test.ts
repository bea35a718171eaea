/**
 * `verifyAffordabilitySummary`, offline: a JWS signed here with a fresh key plays the holder's signed
 * summary; what the holder signs verifies, anything else is `InvalidSignatureError`.
 */
import { InvalidSignatureError, NetworkError, verifyAffordabilitySummary } from '@consentry/client'
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ISSUER = 'https://pay.example'
const SUMMARY = {
  period: { from: '2026-01-01', to: '2026-02-15' },
  currency: 'EUR',
  accounts: ['acc_1'],
  months: [
    { month: '2026-01', partial: false, income: '3010.00', spending: '1820.45' },
    { month: '2026-02', partial: true, income: '0.00', spending: '310.10' },
  ],
}
const CLAIMS = { ...SUMMARY, grant_id: 'grt_1', metrics: ['monthly_income', 'monthly_spending'] }

let privateKey: CryptoKey
let jwks: { keys: JWK[] }

beforeAll(async () => {
  const pair = await generateKeyPair('EdDSA', { extractable: true })
  privateKey = pair.privateKey
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' }] }
})

const sign = (claims: Record<string, unknown> = CLAIMS, typ = 'affordability-summary+jwt', iss = ISSUER) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ })
    .setIssuer(iss)
    .setSubject('pairwise-sub')
    .setAudience('client_1')
    .setIssuedAt(1_790_000_000)
    .sign(privateKey)

describe('verifyAffordabilitySummary', () => {
  it('returns the figures, the claims and when they were signed', async () => {
    const v = await verifyAffordabilitySummary(await sign(), { issuer: ISSUER, jwks, audience: 'client_1' })
    expect(v.summary).toEqual(SUMMARY)
    expect(v.claims.grant_id).toBe('grt_1')
    expect(v.claims.sub).toBe('pairwise-sub')
    expect(v.issuedAt.toISOString()).toBe(new Date(1_790_000_000_000).toISOString())
  })

  it('refuses another typ, issuer or audience, a missing grant id, a malformed body, and garbage', async () => {
    const refusals = [
      async () =>
        verifyAffordabilitySummary(await sign(CLAIMS, 'consent-receipt+jwt'), { issuer: ISSUER, jwks }),
      async () =>
        verifyAffordabilitySummary(await sign(CLAIMS, undefined, 'https://evil.example'), {
          issuer: ISSUER,
          jwks,
        }),
      async () => verifyAffordabilitySummary(await sign(), { issuer: ISSUER, jwks, audience: 'client_2' }),
      async () =>
        verifyAffordabilitySummary(await sign({ ...SUMMARY, metrics: [] }), { issuer: ISSUER, jwks }),
      async () =>
        verifyAffordabilitySummary(
          await sign({ ...CLAIMS, months: [{ month: '2026-01', partial: false, income: 3010 }] }),
          { issuer: ISSUER, jwks },
        ),
      () => verifyAffordabilitySummary('not.a.jws', { issuer: ISSUER, jwks }),
      () => verifyAffordabilitySummary('', { issuer: ISSUER, jwks }),
    ]
    for (const refuse of refusals) await expect(refuse()).rejects.toBeInstanceOf(InvalidSignatureError)
    const err = await verifyAffordabilitySummary('', { issuer: ISSUER, jwks }).catch((e) => e)
    expect(err.code).toBe('invalid_signature')
  })

  describe('with a jwks_uri', () => {
    const server = setupServer(
      http.get('https://pay.example/jwks', () => HttpResponse.json(jwks)),
      http.get('https://down.example/jwks', () => HttpResponse.error()),
    )
    beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
    afterAll(() => server.close())

    it('fetches the keys, and says NetworkError (not a bad signature) when they cannot be fetched', async () => {
      const jws = await sign()
      const v = await verifyAffordabilitySummary(jws, {
        issuer: ISSUER,
        jwks: new URL('https://pay.example/jwks'),
      })
      expect(v.summary).toEqual(SUMMARY)
      await expect(
        verifyAffordabilitySummary(jws, { issuer: ISSUER, jwks: new URL('https://down.example/jwks') }),
      ).rejects.toBeInstanceOf(NetworkError)
    })
  })
})
