import { type KeyObject, KeyObject as KeyObjects } from 'node:crypto'
import type { AuthorizationDetail, Grant } from '@consentry/core'
import { SignJWT } from 'jose'
import type { Context } from '../context.ts'
import type { VerificationKey } from '../keys.ts'
import { deepFreeze } from '../util/freeze.ts'
import { Lru } from '../util/lru.ts'
import { verifyJwt } from './jws.ts'
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
 * Verify an access token's signature, `typ`, issuer, audience and expiry with `node:crypto`
 * (tokens/jws.ts). Returns `null` for any invalid token (the caller answers
 * `invalid_token`).
 *
 * A token verified once is remembered by its exact text (see {@link verifiedTokens}): a recipient
 * sends the same token with every request of its short life, and its signature cannot change. What
 * can — the clock — is checked again on every use: an expired (or not yet valid) token is refused
 * exactly as on its first check. The returned claims are frozen: callers share them.
 */
export async function verifyAccessToken(
  ctx: Context,
  token: string,
  audience: string,
): Promise<AccessTokenClaims | null> {
  const seen = verifiedTokens(ctx)
  const known = seen.get(token)
  if (known && known.audience === audience) return stillValid(known.claims, ctx.now()) ? known.claims : null
  try {
    // The key named by `kid`: the current one, or one still trusted after a rotation; its own `alg`.
    const jwt = await verifyJwt(token, (header) => keyByKid(ctx, header), {
      typ: 'at+jwt',
      algorithms: ALGS,
      issuer: ctx.urls.issuer,
      audience,
      now: ctx.now(),
      requiredClaims: REQUIRED,
    })
    const cnf = jwt?.payload.cnf as { jkt?: unknown } | undefined
    if (!jwt || !cnf || typeof cnf.jkt !== 'string') return null
    const claims = deepFreeze(jwt.payload) as unknown as AccessTokenClaims
    seen.set(token, { audience, claims })
    return claims
  } catch {
    return null
  }
}

/** How many verified access tokens a server remembers (one per active recipient connection is typical). */
const MAX_VERIFIED_TOKENS = 1000

/**
 * Access tokens whose signature, header, issuer and audience were verified, by token text; per server
 * (its verification keys never change while it runs), bounded, least recently used out. Only valid
 * tokens get in, so nobody without one can fill it.
 */
const verified = new WeakMap<Context, Lru<string, { audience: string; claims: AccessTokenClaims }>>()

function verifiedTokens(ctx: Context) {
  let seen = verified.get(ctx)
  if (!seen) {
    seen = new Lru(MAX_VERIFIED_TOKENS)
    verified.set(ctx, seen)
  }
  return seen
}

/** The time checks of `verifyJwt` (tokens/jws.ts), for a token verified before: `exp`, `nbf`. */
function stillValid(claims: AccessTokenClaims, nowMs: number): boolean {
  const now = Math.floor(nowMs / 1000)
  const nbf = (claims as { nbf?: unknown }).nbf
  return claims.exp > now && (nbf === undefined || (typeof nbf === 'number' && nbf <= now))
}

const ALGS = ['ES256', 'PS256', 'EdDSA'] as const
const REQUIRED = ['exp', 'iat', 'jti', 'sub', 'client_id', 'cnf'] as const

/** Verification keys as node:crypto keys, converted once. */
const nodeKeys = new WeakMap<VerificationKey, KeyObject>()

function keyByKid(ctx: Context, header: Record<string, unknown>): KeyObject | null {
  const key = ctx.verificationKeys.find((k) => k.kid === header.kid)
  if (!key || key.alg !== header.alg) return null
  let node = nodeKeys.get(key)
  if (!node) {
    node = KeyObjects.from(key.publicKey)
    nodeKeys.set(key, node)
  }
  return node
}
