/**
 * Key handling: the client's `private_key_jwt` key, per-link DPoP keys (ES256, serialisable as JWK),
 * and PKCE. Web Crypto only.
 */
import { ALLOWED_ALGS, type AllowedAlg } from '@consentry/core'
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose'
import * as oauth from 'oauth4webapi'
import { ConfigurationError, ProtocolError } from './errors.ts'
import type { DPoPKeyJwks } from './token-store.ts'

/** The algorithm of a JWK, from `alg` or from its key type / curve. */
export function algOfJwk(jwk: JWK): AllowedAlg | undefined {
  if (typeof jwk.alg === 'string')
    return (ALLOWED_ALGS as readonly string[]).includes(jwk.alg) ? (jwk.alg as AllowedAlg) : undefined
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  if (jwk.kty === 'RSA') return 'PS256'
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  return undefined
}

function algOfCryptoKey(key: CryptoKey): AllowedAlg | undefined {
  const a = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } }
  if (a.name === 'ECDSA' && a.namedCurve === 'P-256') return 'ES256'
  if (a.name === 'RSA-PSS' && a.hash?.name === 'SHA-256') return 'PS256'
  if (a.name === 'Ed25519' || a.name === 'EdDSA') return 'EdDSA'
  return undefined
}

export interface ClientKey {
  key: CryptoKey
  kid?: string
  alg: AllowedAlg
}

/** Import the client's private key (a private JWK or a signing CryptoKey) and check its algorithm. */
export async function importClientKey(
  input: JWK | CryptoKey,
  kid?: string,
  alg?: AllowedAlg,
): Promise<ClientKey> {
  if (alg !== undefined && !(ALLOWED_ALGS as readonly string[]).includes(alg))
    throw new ConfigurationError('alg must be ES256, PS256 or EdDSA')
  if (typeof CryptoKey !== 'undefined' && input instanceof CryptoKey) {
    if (input.type !== 'private' || !input.usages.includes('sign'))
      throw new ConfigurationError('privateKey must be a private signing key')
    const keyAlg = algOfCryptoKey(input)
    if (!keyAlg || (alg && alg !== keyAlg))
      throw new ConfigurationError('privateKey does not fit the chosen alg')
    return { key: input, alg: keyAlg, ...(kid ? { kid } : {}) }
  }
  if (!input || typeof input !== 'object' || typeof (input as JWK).d !== 'string')
    throw new ConfigurationError('privateKey must be a private JWK or a CryptoKey')
  const jwk = input as JWK
  const jwkAlg = algOfJwk(jwk)
  const chosen = alg ?? jwkAlg
  if (!chosen || (jwk.alg && jwk.alg !== chosen))
    throw new ConfigurationError('privateKey does not fit the chosen alg')
  let key: CryptoKey | Uint8Array
  try {
    key = await importJWK({ ...jwk, alg: chosen, key_ops: undefined, ext: undefined }, chosen, {
      extractable: false,
    })
  } catch {
    throw new ConfigurationError('privateKey could not be imported for the chosen alg')
  }
  if (key instanceof Uint8Array) throw new ConfigurationError('privateKey must be an asymmetric key')
  const keyId = kid ?? (typeof jwk.kid === 'string' ? jwk.kid : undefined)
  return { key, alg: chosen, ...(keyId ? { kid: keyId } : {}) }
}

/** oauth4webapi `private_key_jwt` client authentication. Ed25519 keys are announced as `EdDSA`. */
export function privateKeyJwtAuth(k: ClientKey): oauth.ClientAuth {
  return oauth.PrivateKeyJwt(
    { key: k.key, ...(k.kid ? { kid: k.kid } : {}) },
    {
      [oauth.modifyAssertion]: (header) => {
        header.alg = k.alg
      },
    },
  )
}

/** A fresh, extractable ES256 DPoP key pair, as JWKs. */
export async function generateDPoPKey(): Promise<DPoPKeyJwks> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  return { publicKey: await exportJWK(publicKey), privateKey: await exportJWK(privateKey) }
}

/** Import a stored DPoP key pair for use with oauth4webapi's DPoP handle. */
export async function importDPoPKey(jwks: DPoPKeyJwks): Promise<CryptoKeyPair> {
  try {
    const alg = algOfJwk(jwks.publicKey) ?? 'ES256'
    const publicKey = await importJWK({ ...jwks.publicKey, key_ops: undefined, ext: undefined }, alg, {
      extractable: true,
    })
    const privateKey = await importJWK({ ...jwks.privateKey, key_ops: undefined, ext: undefined }, alg, {
      extractable: false,
    })
    if (publicKey instanceof Uint8Array || privateKey instanceof Uint8Array) throw new Error('symmetric')
    return { publicKey, privateKey }
  } catch {
    throw new ProtocolError('the stored DPoP key could not be imported')
  }
}

/** RFC 7638 SHA-256 thumbprint of a public JWK (the `dpop_jkt` value). */
export function thumbprint(publicJwk: JWK): Promise<string> {
  return calculateJwkThumbprint(publicJwk, 'sha256')
}

/** The public half of a JWK (drops every private member). */
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'key_ops', 'ext'])

export function publicJwkOf(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name))) as JWK
}

/**
 * A DPoP proof (RFC 9449 §4.2) signed with a stored link key, for requests oauth4webapi does not make
 * itself (the sandbox). `nonce`: the server's `DPoP-Nonce`, once it asked for one.
 */
export async function dpopProof(
  jwks: DPoPKeyJwks,
  htm: string,
  htu: string,
  nonce?: string,
): Promise<string> {
  const { privateKey } = await importDPoPKey(jwks)
  const alg = algOfJwk(jwks.publicKey) ?? 'ES256'
  const { kty, crv, x, y, n, e } = jwks.publicKey
  const jwk = Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined),
  ) as JWK
  const url = new URL(htu)
  return new SignJWT({
    htm,
    htu: `${url.origin}${url.pathname}`,
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    ...(nonce !== undefined ? { nonce } : {}),
  })
    .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk })
    .setIssuedAt()
    .sign(privateKey)
}
