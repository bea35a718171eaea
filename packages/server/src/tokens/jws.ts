import { constants, createPublicKey, type KeyObject, verify } from 'node:crypto'

/**
 * Synchronous verification of the compact JWTs the request path sees on every call — Consentry's
 * own access tokens and DPoP proofs — with `node:crypto` (no Web Crypto round trip to the thread
 * pool). It keeps jose's `jwtVerify` rules for what it accepts: three base64url segments, JSON object
 * header and payload, `alg` from an allow-list and matching the key's type (ES256 on P-256, EdDSA on
 * Ed25519, PS256 on RSA ≥ 2048 bits), `crit` refused (no extension is understood, RFC 7515 §4.1.11),
 * the expected `typ`, `exp` in the future and `nbf` not ahead when present, `iat` a number when
 * present, and the required claims present. Anything else gives `null`.
 *
 * @example
 * ```ts
 * const jwt = verifyJwt(token, () => key, { typ: 'at+jwt', algorithms: ['EdDSA'], now: Date.now() })
 * ```
 */
export type JwsAlgorithm = 'ES256' | 'PS256' | 'EdDSA'

export interface VerifiedJwt {
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

export interface VerifyJwtOptions {
  typ: string
  algorithms: readonly string[]
  /** Milliseconds since the epoch. */
  now: number
  requiredClaims?: readonly string[]
  issuer?: string
  audience?: string
}

const SEGMENT = /^[A-Za-z0-9_-]+$/
/** Larger than any proof with an RSA-4096 key in its header; larger inputs are refused unparsed. */
const MAX_JWT_LENGTH = 16_384

function object(segment: string): Record<string, unknown> | null {
  if (!SEGMENT.test(segment)) return null
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}

/** `typ` compared as jose does: case-insensitive, an `application/` prefix ignored (RFC 7515 §4.1.9). */
const normalizeTyp = (typ: string) => {
  const t = typ.toLowerCase()
  return t.startsWith('application/') ? t.slice(12) : t
}

/** Header and payload of a compact JWS, unverified; `null` if it is not one. */
export function decodeJwt(token: string): (VerifiedJwt & { input: string; signature: string }) | null {
  if (token.length > MAX_JWT_LENGTH) return null
  const a = token.indexOf('.')
  const b = token.indexOf('.', a + 1)
  if (a <= 0 || b <= a + 1 || token.indexOf('.', b + 1) !== -1) return null
  const signature = token.slice(b + 1)
  if (!SEGMENT.test(signature)) return null
  const header = object(token.slice(0, a))
  const payload = header && object(token.slice(a + 1, b))
  if (!header || !payload) return null
  return { header, payload, input: token.slice(0, b), signature }
}

/** Does `signature` over `input` verify with `key` under `alg` (key type and size checked)? */
export function verifySignature(alg: unknown, key: KeyObject, input: string, signature: string): boolean {
  const data = Buffer.from(input)
  const sig = Buffer.from(signature, 'base64url')
  try {
    switch (alg) {
      case 'ES256':
        return (
          key.asymmetricKeyType === 'ec' &&
          key.asymmetricKeyDetails?.namedCurve === 'prime256v1' &&
          sig.length === 64 &&
          verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
        )
      case 'EdDSA':
        return key.asymmetricKeyType === 'ed25519' && verify(null, data, key, sig)
      case 'PS256':
        return (
          key.asymmetricKeyType === 'rsa' &&
          (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 &&
          verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
        )
      default:
        return false
    }
  } catch {
    return false
  }
}

/**
 * Verify a compact JWT: signature with the key `keyFor(header)` returns (`null`: refused), then
 * the rules above. Returns header and payload, or `null`.
 */
export function verifyJwt(
  token: string,
  keyFor: (header: Record<string, unknown>) => KeyObject | null,
  o: VerifyJwtOptions,
): VerifiedJwt | null {
  const jwt = decodeJwt(token)
  if (!jwt) return null
  const { header, payload } = jwt
  if (typeof header.alg !== 'string' || !o.algorithms.includes(header.alg)) return null
  if (header.crit !== undefined || typeof header.typ !== 'string' || normalizeTyp(header.typ) !== o.typ)
    return null
  const key = keyFor(header)
  if (!key || !verifySignature(header.alg, key, jwt.input, jwt.signature)) return null
  const now = Math.floor(o.now / 1000)
  for (const claim of o.requiredClaims ?? []) if (!(claim in payload)) return null
  if (payload.iat !== undefined && typeof payload.iat !== 'number') return null
  if (payload.exp !== undefined && (typeof payload.exp !== 'number' || payload.exp <= now)) return null
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now)) return null
  if (o.issuer !== undefined && payload.iss !== o.issuer) return null
  if (o.audience !== undefined) {
    const aud = payload.aud
    if (!(aud === o.audience || (Array.isArray(aud) && aud.includes(o.audience)))) return null
  }
  return { header, payload }
}

/** A public JWK as a `node:crypto` key (throws on a malformed or private key). */
export function publicKeyFromJwk(jwk: Record<string, unknown>): KeyObject {
  const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
  if (key.type !== 'public') throw new TypeError('not a public key')
  return key
}
