import {
  AFFORDABILITY_SUMMARY_JWT_TYPE,
  type AffordabilityMetric,
  type AffordabilitySummary,
} from '@consentry/core'
import { SignJWT } from 'jose'
import type { Context } from '../context.ts'
import { pairwiseSubject } from '../tokens/pairwise.ts'
import { randomToken } from '../tokens/random.ts'

/**
 * The summary as a compact JWS (RFC 7515) signed with the holder's signing key, so the recipient can
 * keep it as evidence of where the figures came from and anyone can verify it offline with the
 * holder's JWKS: `typ: affordability-summary+jwt` (RFC 8725 §3.11), `iss`, `sub` (the recipient's
 * pairwise identifier of the person, as in its tokens and receipts), `aud` (its client id), `iat`,
 * `jti`, `grant_id`, `metrics`, and the summary's `period`, `currency`, `accounts`, `months` (and
 * `income_regularity`) at top level. No `exp`: evidence outlives the grant.
 *
 * @example
 * ```ts
 * const jws = await signSummary(ctx, { grantId, clientId, subject }, summary, detail.metrics)
 * ```
 */
export async function signSummary(
  ctx: Context,
  grant: { grantId: string; clientId: string; subject: string },
  summary: AffordabilitySummary,
  metrics: readonly AffordabilityMetric[],
): Promise<string> {
  return new SignJWT({ ...summary, grant_id: grant.grantId, metrics: [...metrics] })
    .setProtectedHeader({
      alg: ctx.signingKey.alg,
      kid: ctx.signingKey.kid,
      typ: AFFORDABILITY_SUMMARY_JWT_TYPE,
    })
    .setIssuer(ctx.urls.issuer)
    .setSubject(await pairwiseSubject(ctx, grant.clientId, grant.subject))
    .setAudience(grant.clientId)
    .setIssuedAt(Math.floor(ctx.now() / 1000))
    .setJti(`afs_${randomToken(16)}`)
    .sign(ctx.signingKey.privateKey)
}
