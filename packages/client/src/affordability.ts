/**
 * The signed affordability summary (`typ: affordability-summary+jwt`): a compact JWS the holder signs
 * with the key in its JWKS, kept by the recipient as evidence of where the figures came from.
 */
import {
  AFFORDABILITY_SUMMARY_JWT_TYPE,
  type AffordabilitySummary,
  type AffordabilitySummaryClaims,
  affordabilitySummaryClaimsSchema,
} from '@consentry/core'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import { ConsentryClientError, InvalidSignatureError, NetworkError } from './errors.ts'

/** Options of {@link verifyAffordabilitySummary}. */
export interface VerifyAffordabilitySummaryOptions {
  /** The holder's issuer identifier (the JWS's `iss`), e.g. `https://pay.example`. */
  issuer: string
  /**
   * The holder's keys: its JWKS as an object (offline: saved once from `jwks_uri`), its `jwks_uri`
   * (fetched and cached), or a jose key resolver.
   */
  jwks: JSONWebKeySet | URL | JWTVerifyGetKey
  /** Also require this `aud` (your client id). */
  audience?: string
  /** A custom fetch for a `jwks_uri`. */
  fetch?: typeof fetch
}

/** A verified signed summary. */
export interface VerifiedAffordabilitySummary {
  /** The figures: the same members as the JSON answer. */
  summary: AffordabilitySummary
  /** Every claim: `iss`, `sub` (pairwise), `aud`, `iat`, `grant_id`, `metrics`, and the summary's members. */
  claims: AffordabilitySummaryClaims
  /** When the holder signed it (`iat`). */
  issuedAt: Date
}

const resolvers = new WeakMap<object, JWTVerifyGetKey>()

function keysOf(options: VerifyAffordabilitySummaryOptions): JWTVerifyGetKey {
  const { jwks } = options
  if (typeof jwks === 'function') return jwks
  if (jwks instanceof URL)
    return createRemoteJWKSet(jwks, options.fetch ? { [customFetch]: options.fetch } : {})
  let resolver = resolvers.get(jwks)
  if (!resolver) {
    resolver = createLocalJWKSet(jwks)
    resolvers.set(jwks, resolver)
  }
  return resolver
}

/**
 * Verify a signed affordability summary (the answer to `GET …/affordability-summary` with
 * `Accept: application/jwt`, or `link.affordabilitySummary({ signed: true })`'s `jws`): the signature
 * against the holder's JWKS (works offline with a saved JWKS), `typ: affordability-summary+jwt`,
 * `iss`, an algorithm in EdDSA/ES256/PS256, and the payload's shape. It has no expiry: it is evidence
 * of what the holder said at `iat`. Throws {@link InvalidSignatureError} if anything does not verify
 * (a changed byte included), `NetworkError` if a `jwks_uri` could not be fetched.
 *
 * @example
 * ```ts
 * import { verifyAffordabilitySummary } from '@consentry/client'
 *
 * const jwks = await (await fetch('https://pay.example/jwks')).json() // saved once, with the evidence
 * const { summary, claims } = await verifyAffordabilitySummary(jws, { issuer: 'https://pay.example', jwks })
 * console.log(claims.grant_id, summary.months[0]?.income)
 * ```
 */
export async function verifyAffordabilitySummary(
  jws: string,
  options: VerifyAffordabilitySummaryOptions,
): Promise<VerifiedAffordabilitySummary> {
  if (typeof jws !== 'string' || jws.length === 0 || jws.length > 1_000_000)
    throw new InvalidSignatureError('the signed summary is empty or too large')
  let payload: unknown
  try {
    ;({ payload } = await jwtVerify(jws.trim(), keysOf(options), {
      issuer: options.issuer,
      ...(options.audience !== undefined ? { audience: options.audience } : {}),
      typ: AFFORDABILITY_SUMMARY_JWT_TYPE,
      algorithms: ['EdDSA', 'ES256', 'PS256'],
      requiredClaims: ['iat', 'sub', 'grant_id'],
    }))
  } catch (err) {
    if (err instanceof ConsentryClientError) throw err
    if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) throw new NetworkError()
    if (err.code === 'ERR_JWKS_INVALID') throw new NetworkError()
    throw new InvalidSignatureError('the signed summary failed verification')
  }
  const parsed = affordabilitySummaryClaimsSchema.safeParse(payload)
  if (!parsed.success) throw new InvalidSignatureError('the signed summary is not an affordability summary')
  const claims = parsed.data
  const summary: AffordabilitySummary = {
    period: claims.period,
    currency: claims.currency,
    accounts: claims.accounts,
    months: claims.months,
    ...(claims.income_regularity ? { income_regularity: claims.income_regularity } : {}),
  }
  return { summary, claims, issuedAt: new Date(claims.iat * 1000) }
}
