import { checkClientAssertion } from '../checks/client-assertion.ts'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import { usableGrant } from '../grants/lifecycle.ts'
import { readForm } from '../http/body.ts'
import { json } from '../http/respond.ts'
import { verifyAccessToken } from '../tokens/access-token.ts'
import { pairwiseSubject } from '../tokens/pairwise.ts'
import { hashSecret } from '../tokens/random.ts'

const INACTIVE = { active: false }

/**
 * Token introspection (RFC 7662) for the client that owns the token. A token is active only while its
 * grant is: revocation shows here on the very next call too.
 */
export async function introspect(ctx: Context, request: Request): Promise<Response> {
  const form = await readForm(request)
  const client = await checkClientAssertion(ctx, form)
  const token = form.get('token')
  if (!token) throw new OAuthError('invalid_request', 'token is required')
  const now = ctx.now()

  const refresh = await ctx.store.getRefreshToken(await hashSecret(token))
  if (refresh) {
    if (
      refresh.clientId !== client.clientId ||
      refresh.usedAt ||
      refresh.revokedAt ||
      refresh.expiresAt <= now
    )
      return json(INACTIVE)
    const grant = await usableGrant(ctx, refresh.grantId)
    if (!grant) return json(INACTIVE)
    return json({
      active: true,
      token_type: 'refresh_token',
      client_id: grant.clientId,
      sub: await pairwiseSubject(ctx, grant.clientId, grant.subject),
      iss: ctx.urls.issuer,
      exp: Math.floor(refresh.expiresAt / 1000),
      iat: Math.floor(refresh.createdAt / 1000),
      grant_id: grant.id,
      cnf: { jkt: refresh.jkt },
      authorization_details: grant.authorizationDetails,
    })
  }

  const claims =
    (await verifyAccessToken(ctx, token, ctx.urls.resource)) ??
    (await verifyAccessToken(ctx, token, ctx.urls.grants))
  if (!claims || claims.client_id !== client.clientId) return json(INACTIVE)
  const grant = claims.grant_id ? await usableGrant(ctx, claims.grant_id) : null
  if (claims.grant_id && !grant) return json(INACTIVE)
  // A token allows what its grant allows as it stands (every read checks the grant, not the token):
  // after an amendment its details are the amended ones, not those it was issued with (RFC 9396 §9.2
  // has introspection describe what the token may do).
  const live =
    grant && 'authorization_details' in claims ? { authorization_details: grant.authorizationDetails } : {}
  return json({ active: true, token_type: 'DPoP', ...claims, ...live })
}
