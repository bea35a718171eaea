import { effectiveStatus, type Grant } from '@consentry/core'
import { checkAccessToken } from '../checks/access-token.ts'
import type { Context } from '../context.ts'
import { ProblemError, ResourceAuthError } from '../errors.ts'
import { endGrant } from '../grants/lifecycle.ts'
import { json } from '../http/respond.ts'

const iso = (ms: number) => new Date(ms).toISOString()

/** The grant as its client sees it (grant management). */
export function grantView(grant: Grant, now: number) {
  return {
    grant_id: grant.id,
    status: effectiveStatus(grant, now),
    client_id: grant.clientId,
    authorization_details: grant.authorizationDetails,
    created_at: iso(grant.createdAt),
    expires_at: iso(grant.expiresAt),
    ...(grant.endedAt ? { ended_at: iso(grant.endedAt) } : {}),
    ...(grant.endedReason ? { ended_reason: grant.endedReason } : {}),
  }
}

/**
 * Grant management: `GET` and `DELETE /grants/{grant_id}`, with a DPoP-bound client-credentials token
 * carrying `grant_management_query` / `grant_management_revoke`. Another client's grant is a 404.
 */
export async function grants(ctx: Context, request: Request, grantId: string): Promise<Response> {
  const claims = await checkAccessToken(ctx, request, {
    audience: ctx.urls.grants,
    htu: `${ctx.urls.grants}/${encodeURIComponent(grantId)}`,
  })
  const needed = request.method === 'DELETE' ? 'grant_management_revoke' : 'grant_management_query'
  if (!claims.scope?.split(' ').includes(needed))
    throw new ResourceAuthError('insufficient_scope', `this call needs the ${needed} scope`)
  const grant = await ctx.store.getGrant(grantId)
  if (!grant || grant.clientId !== claims.client_id) throw new ProblemError('not_found', 'no such grant')
  if (request.method === 'DELETE') {
    await endGrant(ctx, grant.id, 'revoked', 'revoked_by_client', { type: 'client', id: claims.client_id })
    return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } })
  }
  return json(grantView(grant, ctx.now()))
}
