import { ConfigError, memoryStore } from '@consentry/server'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { startHarborPay } from '../examples/payment-provider/src/app.ts'
import { HISTORY_DETAIL, link, registerRecipient, resourceGet } from './helpers/recipient.ts'

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return {
    private: { ...(await exportJWK(privateKey)), alg: 'ES256', kid },
    public: { ...(await exportJWK(publicKey)), alg: 'ES256', kid } as JWK,
  }
}

/**
 * Fetch until the restarted holder answers: the first tries may land on keep-alive sockets to the
 * stopped instance, which fail and are dropped from the pool.
 */
async function fetchAfterRestart(url: string): Promise<Response> {
  for (let i = 0; ; i++) {
    try {
      return await fetch(url)
    } catch (e) {
      if (i >= 10) throw e
    }
  }
}

describe('signing-key rotation', () => {
  it('keeps what the old key signed verifiable when its public half is kept, and only then', async () => {
    const store = memoryStore()
    const k1 = await keyPair('k1')
    const k2 = await keyPair('k2')
    const before = await startHarborPay({
      store,
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { signingKey: k1.private },
    })
    const { issuer, port } = before
    const r = await registerRecipient(issuer)
    const { tokens, DPoP } = await link(issuer, r, [HISTORY_DETAIL])
    expect(JSON.parse(Buffer.from(tokens.access_token.split('.')[0]!, 'base64url').toString()).kid).toBe('k1')
    await before.server.audit.checkpoint()
    await before.close()

    // Rotated, keeping k1's public key: the old token still works, new signatures use k2.
    const rotated = await startHarborPay({
      store,
      port,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { signingKey: k2.private, previousSigningKeys: [k1.public] },
    })
    const jwks = await (await fetchAfterRestart(`${issuer}/jwks`)).json()
    expect(jwks.keys.map((k: JWK) => k.kid)).toEqual(['k2', 'k1'])
    expect(jwks.keys.some((k: JWK) => 'd' in k)).toBe(false)
    expect((await resourceGet(tokens.access_token, `${issuer}/api/accounts`, DPoP)).status).toBe(200)
    const fresh = await link(issuer, r, [HISTORY_DETAIL])
    expect(
      JSON.parse(Buffer.from(fresh.tokens.access_token.split('.')[0]!, 'base64url').toString()).kid,
    ).toBe('k2')
    await rotated.server.audit.checkpoint()
    const report = await rotated.server.audit.verify()
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([])
    // The audit log's key is not a token key: rotating token keys leaves the log verifying.
    expect(report.ok).toBe(true)
    expect(report.verifiedThrough).toBe(report.checkpoint?.size)
    await rotated.close()

    // Rotated without keeping k1: what k1 signed is no longer accepted.
    const forgetful = await startHarborPay({
      store,
      port,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { signingKey: k2.private },
    })
    await fetchAfterRestart(`${issuer}/jwks`)
    const refused = await resourceGet(tokens.access_token, `${issuer}/api/accounts`, DPoP)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token')
    await forgetful.close()
  })

  it('refuses a retired key that still carries its private half', async () => {
    const k1 = await keyPair('k1')
    const k2 = await keyPair('k2')
    await expect(
      startHarborPay({
        store: memoryStore(),
        port: 0,
        publicHost: '127.0.0.1',
        maintenance: false,
        overrides: { signingKey: k2.private, previousSigningKeys: [k1.private] },
      }),
    ).rejects.toBeInstanceOf(ConfigError)
  })
})
