import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import type { PrivateJwk } from './config.ts'
import { ConfigError } from './errors.ts'
import type { Store } from './store/store.ts'

export interface SigningKey {
  alg: 'ES256' | 'PS256' | 'EdDSA'
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  publicJwk: JWK
}

const algFor = (jwk: PrivateJwk): SigningKey['alg'] | undefined => {
  if (jwk.alg === 'ES256' || jwk.alg === 'PS256' || jwk.alg === 'EdDSA') return jwk.alg
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  if (jwk.kty === 'RSA') return 'PS256'
  return undefined
}

/** Import the configured key, or load/generate the store-kept one (shared by every instance). */
export async function loadSigningKey(store: Store, configured?: PrivateJwk): Promise<SigningKey> {
  let jwk: PrivateJwk
  if (configured) {
    jwk = configured
  } else {
    // Generating a candidate is cheap; whichever instance stores first wins and everyone uses that one.
    // EdDSA (Ed25519, allowed by FAPI 2.0 Security Profile §5.4.1): it verifies several times faster
    // than ES256, and every access token is verified on every read. A store that already holds a key
    // (ES256 before this default changed) keeps using it.
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const candidate = JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'EdDSA' })
    jwk = JSON.parse(await store.getOrCreateSecret('signing-key', () => candidate))
  }
  const alg = algFor(jwk)
  if (!alg || !jwk.d) throw new ConfigError('signingKey must be a private ES256, PS256 or EdDSA JWK')
  const privateKey = (await importJWK(jwk as JWK, alg)) as CryptoKey
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, key_ops: _ops, ext: _ext, ...pub } = jwk as JWK
  const kid = jwk.kid ?? (await calculateJwkThumbprint(pub as JWK))
  const publicKey = (await importJWK(pub as JWK, alg)) as CryptoKey
  return { alg, kid, privateKey, publicKey, publicJwk: { ...pub, kid, alg, use: 'sig' } }
}

/** A public key that still verifies what an earlier signing key signed. */
export interface VerificationKey {
  alg: SigningKey['alg']
  kid: string
  publicKey: CryptoKey
  publicJwk: JWK
}

/**
 * The keys published in the JWKS and accepted when verifying: the current signing key first, then the
 * previous ones (public JWKs, each with its `kid`). Private members are refused: a retired key's
 * private half has no business in the server any more.
 */
export async function loadVerificationKeys(
  current: SigningKey,
  previous: JWK[] = [],
): Promise<VerificationKey[]> {
  const keys: VerificationKey[] = [current]
  for (const jwk of previous) {
    const alg = algFor(jwk as PrivateJwk)
    if (!alg || 'd' in jwk)
      throw new ConfigError('previousSigningKeys must be public ES256, PS256 or EdDSA JWKs')
    const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk))
    if (keys.some((k) => k.kid === kid))
      throw new ConfigError(`previousSigningKeys: kid ${kid} is used twice`)
    const { key_ops: _ops, ext: _ext, ...pub } = jwk
    keys.push({
      alg,
      kid,
      publicKey: (await importJWK(pub, alg)) as CryptoKey,
      publicJwk: { ...pub, kid, alg, use: 'sig' },
    })
  }
  return keys
}
