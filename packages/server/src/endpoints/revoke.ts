import { checkClientAssertion } from '../checks/client-assertion.ts'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import { endGrant } from '../grants/lifecycle.ts'
import { readForm } from '../http/body.ts'
import { json } from '../http/respond.ts'
import { verifyAccessToken } from '../tokens/access-token.ts'
import { hashSecret } from '../tokens/random.ts'

/**
 * Token revocation (RFC 7009). A recipient revoking any token of a grant is done with the link, so the
 * whole grant ends (RFC 7009 §2.1 allows this); every other token of it stops working at once.
 * Unknown tokens and other clients' tokens get the same `200` (nothing is revealed).
 */
export async function revoke(ctx: Context, request: Request): Promise<Response> {
  const form = await readForm(request)
  const client = await checkClientAssertion(ctx, form)
  const token = form.get('token')
  if (!token) throw new OAuthError('invalid_request', 'token is required')
  const grantId = await grantOf(ctx, token, client.clientId)
  if (grantId)
    await endGrant(ctx, grantId, 'revoked', 'revoked_by_client', { type: 'client', id: client.clientId })
  return json({}, 200)
}

async function grantOf(ctx: Context, token: string, clientId: string): Promise<string | undefined> {
  const refresh = await ctx.store.getRefreshToken(await hashSecret(token))
  if (refresh) return refresh.clientId === clientId ? refresh.grantId : undefined
  const claims = await verifyAccessToken(ctx, token, ctx.urls.resource)
  return claims && claims.client_id === clientId ? claims.grant_id : undefined
}
