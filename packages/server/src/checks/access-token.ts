import type { Context } from '../context.ts'
import { ResourceAuthError } from '../errors.ts'
import { type AccessTokenClaims, verifyAccessToken } from '../tokens/access-token.ts'
import { checkDpop } from './dpop.ts'

/**
 * check_access_token: `Authorization: DPoP <jwt>` only (a DPoP-bound token sent as `Bearer` is
 * refused), a valid JWT for `audience`, and a DPoP proof for this request signed by the key the token
 * is bound to (`cnf.jkt`), carrying `ath`.
 */
export async function checkAccessToken(
  ctx: Context,
  request: Request,
  opts: {
    audience: string
    htu: string
    /** Records the proof's jti for these claims (default: `ctx.store.recordJti`); see check_dpop. */
    recordJti?: (claims: AccessTokenClaims, key: string, expiresAt: number) => Promise<boolean>
  },
): Promise<AccessTokenClaims> {
  const auth = request.headers.get('authorization')
  if (!auth) throw new ResourceAuthError('invalid_token', 'an access token is required')
  const match = /^(\S+) ([A-Za-z0-9\-._~+/]+=*)$/.exec(auth)
  if (!match) throw new ResourceAuthError('invalid_request', 'malformed Authorization header')
  const [, scheme, token] = match
  if (scheme!.toLowerCase() !== 'dpop')
    throw new ResourceAuthError(
      'invalid_token',
      'this API only accepts DPoP-bound access tokens (Authorization: DPoP)',
    )
  const claims = await verifyAccessToken(ctx, token!, opts.audience)
  if (!claims) throw new ResourceAuthError('invalid_token', 'the access token is invalid or expired')
  const proof = await checkDpop(ctx, request, {
    htm: request.method,
    htu: opts.htu,
    accessToken: token!,
    at: 'resource',
    ...(opts.recordJti ? { recordJti: (key, exp) => opts.recordJti!(claims, key, exp) } : {}),
  })
  if (proof.jkt !== claims.cnf.jkt)
    throw new ResourceAuthError('invalid_token', 'the DPoP key does not match the token binding')
  return claims
}
