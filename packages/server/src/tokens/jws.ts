import { constants, createPublicKey, type KeyObject, verify } from 'node:crypto'
import { deepFreeze } from '../util/freeze.ts'
import type { Lru } from '../util/lru.ts'

/**
 * Verification of the compact JWTs the request path sees on every call — Consentry's own access
 * tokens and DPoP proofs — with `node:crypto`. The parsing and every rule run on the event loop; the
 * signature maths (~85 µs for ES256 here) run in libuv's thread pool through `verify`'s callback form,
 * so the loop spends ~18–50 µs per signature and serves other requests meanwhile (bench/README.md,
 * "Signatures off the event loop, one flight"). Not Web Crypto: its algorithm normalisation and
 * promise jobs cost more than the maths for the small hashes, which stay synchronous (util/hash.ts).
 * It keeps jose's `jwtVerify` rules for what it accepts: three base64url segments, JSON object
 * header and payload, `alg` from an allow-list and matching the key's type (ES256 on P-256, EdDSA on
 * Ed25519, PS256 on RSA ≥ 2048 bits), `crit` refused (no extension is understood, RFC 7515 §4.1.11),
 * the expected `typ`, `exp` in the future and `nbf` not ahead when present, `iat` a number when
 * present, and the required claims present. Anything else gives `null`.
 *
 * @example
 * ```ts
 * const jwt = await verifyJwt(token, () => key, { typ: 'at+jwt', algorithms: ['EdDSA'], now: Date.now() })
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
  /**
   * Headers already parsed, by their exact base64url text: a bounded cache the caller owns. A sender
   * that signs every request with one key sends the same header every time (DPoP: `typ`, `alg` and
   * its `jwk`), so it is decoded once. Only the headers of tokens that verified are added, frozen
   * (callers share them); the text is the key, so a cached header is only ever the parse of that text.
   */
  headers?: Lru<string, Readonly<Record<string, unknown>>>
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

/**
 * Header and payload of a compact JWS, unverified; `null` if it is not one. `headers`: see
 * {@link VerifyJwtOptions.headers}.
 */
export function decodeJwt(
  token: string,
  headers?: VerifyJwtOptions['headers'],
): (VerifiedJwt & { input: string; signature: string; headerText: string }) | null {
  if (token.length > MAX_JWT_LENGTH) return null
  const a = token.indexOf('.')
  const b = token.indexOf('.', a + 1)
  if (a <= 0 || b <= a + 1 || token.indexOf('.', b + 1) !== -1) return null
  const signature = token.slice(b + 1)
  if (!SEGMENT.test(signature)) return null
  const headerText = token.slice(0, a)
  const header = (headers?.get(headerText) as Record<string, unknown> | undefined) ?? object(headerText)
  const payload = header && object(token.slice(a + 1, b))
  if (!header || !payload) return null
  return { header, payload, input: token.slice(0, b), signature, headerText }
}

/** `verify` in the thread pool (its callback form); any error, thrown or reported, is a `false`. */
function verifyOff(
  algorithm: string | null,
  data: Buffer,
  key: Parameters<typeof verify>[2],
  signature: Buffer,
): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verify(algorithm, data, key, signature, (err, ok) => resolve(!err && ok))
    } catch {
      resolve(false)
    }
  })
}

/** The algorithm a key can verify (its type, curve and size checked once per key). */
const algorithmOf = new WeakMap<KeyObject, JwsAlgorithm | null>()

function keyAlgorithm(key: KeyObject): JwsAlgorithm | null {
  let alg = algorithmOf.get(key)
  if (alg === undefined) {
    const details = key.asymmetricKeyDetails
    alg =
      key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1'
        ? 'ES256'
        : key.asymmetricKeyType === 'ed25519'
          ? 'EdDSA'
          : key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048
            ? 'PS256'
            : null
    algorithmOf.set(key, alg)
  }
  return alg
}

/** Does `signature` over `input` verify with `key` under `alg` (key type and size checked)? */
export async function verifySignature(
  alg: unknown,
  key: KeyObject,
  input: string,
  signature: string,
): Promise<boolean> {
  if (alg !== keyAlgorithm(key)) return false
  const data = Buffer.from(input)
  const sig = Buffer.from(signature, 'base64url')
  switch (alg) {
    case 'ES256':
      return sig.length === 64 && verifyOff('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
    case 'EdDSA':
      return verifyOff(null, data, key, sig)
    case 'PS256':
      return verifyOff('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
    default:
      return false
  }
}

/**
 * Verify a compact JWT: signature with the key `keyFor(header)` returns (`null`: refused), then
 * the rules above. Returns header and payload, or `null`.
 */
export async function verifyJwt(
  token: string,
  keyFor: (header: Record<string, unknown>) => KeyObject | null,
  o: VerifyJwtOptions,
): Promise<VerifiedJwt | null> {
  const jwt = decodeJwt(token, o.headers)
  if (!jwt) return null
  const { header, payload } = jwt
  if (typeof header.alg !== 'string' || !o.algorithms.includes(header.alg)) return null
  if (header.crit !== undefined || typeof header.typ !== 'string' || normalizeTyp(header.typ) !== o.typ)
    return null
  const key = keyFor(header)
  if (!key || !(await verifySignature(header.alg, key, jwt.input, jwt.signature))) return null
  if (o.headers && !Object.isFrozen(header)) o.headers.set(jwt.headerText, deepFreeze(header))
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
