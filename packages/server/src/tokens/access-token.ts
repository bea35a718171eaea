import type { AuthorizationDetail, Grant } from '@consentry/core'
import { jwtVerify, SignJWT } from 'jose'
import type { Context } from '../context.ts'
import { pairwiseSubject } from './pairwise.ts'
import { randomToken } from './random.ts'

/** Claims of a Consentry access token (RFC 9068 JWT, `typ: at+jwt`). */
export interface AccessTokenClaims {
  iss: string
  /**
   * A grant's token: the person's pairwise identifier for this client (never the holder's subject;
   * the resource uses the grant's stored subject). A management token: the client_id.
   */
  sub: string
  aud: string
  client_id: string
  iat: number
  exp: number
  jti: string
  cnf: { jkt: string }
  grant_id?: string
  authorization_details?: AuthorizationDetail[]
  scope?: string
}

/** Issue a grant's access token, DPoP-bound to `jkt`, never outliving the grant. */
export async function issueGrantAccessToken(ctx: Context, grant: Grant, jkt: string) {
  return sign(ctx, {
    sub: await pairwiseSubject(ctx, grant.clientId, grant.subject),
    aud: ctx.urls.resource,
    client_id: grant.clientId,
    grant_id: grant.id,
    authorization_details: grant.authorizationDetails,
    cnf: { jkt },
    maxExp: Math.floor(grant.expiresAt / 1000),
  })
}

/** Issue a grant-management access token (client credentials) for `clientId`. */
export async function issueManagementAccessToken(ctx: Context, clientId: string, scope: string, jkt: string) {
  return sign(ctx, { sub: clientId, aud: ctx.urls.grants, client_id: clientId, scope, cnf: { jkt } })
}

async function sign(
  ctx: Context,
  claims: Omit<AccessTokenClaims, 'iss' | 'iat' | 'exp' | 'jti'> & { maxExp?: number },
): Promise<{ token: string; expiresIn: number }> {
  const { maxExp, ...rest } = claims
  const iat = Math.floor(ctx.now() / 1000)
  const exp = Math.min(iat + ctx.config.lifetimes.accessToken, maxExp ?? Number.POSITIVE_INFINITY)
  const token = await new SignJWT({ ...rest, jti: randomToken(16) })
    .setProtectedHeader({ alg: ctx.signingKey.alg, kid: ctx.signingKey.kid, typ: 'at+jwt' })
    .setIssuer(ctx.urls.issuer)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(ctx.signingKey.privateKey)
  return { token, expiresIn: Math.max(0, exp - iat) }
}

/**
 * Verify an access token's signature, `typ`, issuer, audience and expiry. Returns `null` for any
 * invalid token (the caller answers `invalid_token`).
 */
export async function verifyAccessToken(
  ctx: Context,
  token: string,
  audience: string,
): Promise<AccessTokenClaims | null> {
  try {
    // The key named by `kid`: the current one, or one still trusted after a rotation.
    const { payload } = await jwtVerify(token, (header) => keyByKid(ctx, header.kid), {
      typ: 'at+jwt',
      algorithms: [...new Set(ctx.verificationKeys.map((k) => k.alg))],
      issuer: ctx.urls.issuer,
      audience,
      currentDate: new Date(ctx.now()),
      requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'cnf'],
    })
    const cnf = payload.cnf as { jkt?: unknown } | undefined
    if (!cnf || typeof cnf.jkt !== 'string') return null
    return payload as unknown as AccessTokenClaims
  } catch {
    return null
  }
}

function keyByKid(ctx: Context, kid: string | undefined): CryptoKey {
  const key = ctx.verificationKeys.find((k) => k.kid === kid)
  if (!key) throw new Error('unknown kid')
  return key.publicKey
}
