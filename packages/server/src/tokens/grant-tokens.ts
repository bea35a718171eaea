import type { ClientRecord, Grant, Json } from '@consentry/core'
import type { Context } from '../context.ts'
import { issueReceipt } from '../grants/receipt.ts'
import { issueGrantAccessToken } from './access-token.ts'
import { hashSecret, randomToken } from './random.ts'

/** The token response of a new grant: RFC 6749 §5.1 members, RFC 9396 details, Consentry's extras. */
export interface GrantTokenResponse {
  access_token: string
  token_type: 'DPoP'
  expires_in: number
  refresh_token: string
  grant_id: string
  authorization_details: Grant['authorizationDetails']
  consent_receipt: string
}

/**
 * Issue the first tokens of a grant — the code exchange's answer, and the sandbox link's, which
 * answers exactly the same: a DPoP-bound access token (RFC 9449), a refresh token bound to the same
 * key, `grant_id` (Grant Management), the granted `authorization_details` (RFC 9396 §7) and the signed
 * consent receipt. `raced`: everything is born revoked (see the token endpoint's
 * check_grant_for_issuance). `audit` is the `token.issued` event's data (besides `expires_in`).
 */
export async function issueGrantTokens(
  ctx: Context,
  client: ClientRecord,
  grant: Grant,
  jkt: string,
  opts: { raced?: boolean; audit: { [key: string]: Json } },
): Promise<GrantTokenResponse> {
  const access = await issueGrantAccessToken(ctx, grant, jkt)
  const refresh = randomToken(32)
  await ctx.store.saveRefreshToken({
    tokenHash: await hashSecret(refresh),
    grantId: grant.id,
    clientId: client.clientId,
    jkt,
    createdAt: ctx.now(),
    expiresAt: grant.expiresAt,
    ...(opts.raced ? { revokedAt: ctx.now() } : {}),
  })
  await ctx.audit.record({
    type: 'token.issued',
    actor: { type: 'client', id: client.clientId },
    grantId: grant.id,
    clientId: client.clientId,
    subject: grant.subject,
    data: { ...opts.audit, expires_in: access.expiresIn },
  })
  return {
    access_token: access.token,
    token_type: 'DPoP',
    expires_in: access.expiresIn,
    refresh_token: refresh,
    grant_id: grant.id,
    authorization_details: grant.authorizationDetails,
    // (consentry) the signed consent receipt, the recipient's proof of what was consented.
    consent_receipt: await issueReceipt(ctx, grant, client),
  }
}
