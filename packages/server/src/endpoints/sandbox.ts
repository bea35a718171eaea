import type { Grant } from '@consentry/core'
import { checkAuthorizationDetails } from '../checks/authorization-details.ts'
import { checkClientAssertion } from '../checks/client-assertion.ts'
import { checkDpop } from '../checks/dpop.ts'
import { checkSandboxScope, checkSandboxSubject } from '../checks/sandbox-subject.ts'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import { approvalData, grantLifetimeMs } from '../grants/describe.ts'
import { endGrant, usableGrant } from '../grants/lifecycle.ts'
import { consentToEverything } from '../grants/narrow.ts'
import { readForm } from '../http/body.ts'
import { json } from '../http/respond.ts'
import { issueGrantTokens } from '../tokens/grant-tokens.ts'
import { randomToken } from '../tokens/random.ts'
import { grantView } from './grants.ts'

/** Why a grant ended through `sandbox/revoke` (in its event, receipt, dashboard and audit trail). */
export const SANDBOX_REVOKED = 'sandbox_revoked'

/**
 * `POST {issuer}/sandbox/link` (sandbox only): a consented grant for a test person, without any page —
 * what a person who signs in and ticks everything offered would give. Client authentication
 * (`private_key_jwt`) and the DPoP proof come first, as at the token endpoint; then the details
 * (check_authorization_details), the person (check_sandbox_subject) and their accounts or stores
 * (check_sandbox_scope: those named, else all they hold), then the consent's own narrowing. The
 * answer is the code exchange's: a DPoP-bound access token, a refresh token, `grant_id`, the granted
 * `authorization_details` and the consent receipt.
 */
export async function sandboxLink(ctx: Context, request: Request): Promise<Response> {
  const form = await readForm(request)
  const client = await checkClientAssertion(ctx, form)
  const proof = await checkDpop(ctx, request, { htm: 'POST', htu: ctx.urls.sandboxLink!, at: 'token' })
  const details = checkAuthorizationDetails(ctx, form.get('authorization_details'))
  const subject = await checkSandboxSubject(ctx, form.get('subject'))
  const scopes = await checkSandboxScope(ctx, subject, details)
  const granted = await consentToEverything(ctx, subject, details, scopes)
  if (typeof granted === 'string') throw new OAuthError('invalid_authorization_details', granted)

  const now = ctx.now()
  const grant: Grant = {
    id: `gr_${randomToken(16)}`,
    clientId: client.clientId,
    subject,
    status: 'active',
    authorizationDetails: granted,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + grantLifetimeMs(granted, ctx.config.lifetimes.maxGrant),
  }
  await ctx.store.createGrant(grant)
  await ctx.audit.record({
    type: 'grant.created',
    actor: { type: 'client', id: client.clientId },
    grantId: grant.id,
    clientId: client.clientId,
    subject,
    data: { status: 'active', sandbox: true },
  })
  // Nobody saw a consent page: the approval is the system's, and says it was the sandbox's.
  await ctx.audit.record({
    type: 'grant.approved',
    actor: { type: 'system' },
    grantId: grant.id,
    clientId: client.clientId,
    subject,
    data: { ...approvalData(ctx, granted, grant.expiresAt), sandbox: true },
  })
  const body = await issueGrantTokens(ctx, client, grant, proof.jkt, {
    audit: { grant_type: 'sandbox', sandbox: true },
  })
  return json(body)
}

/**
 * `POST {issuer}/sandbox/revoke` (sandbox only): end one of the authenticated client's active grants
 * with reason `sandbox_revoked`, as if the person had revoked it on their dashboard — the grant's
 * tokens stop working at once and the signed `grant-ended` event goes to the client's webhook through
 * the outbox, like any revocation. Another client's grant, an unknown one and an ended one are all
 * `invalid_grant`. Answers the ended grant as grant management shows it, plus `event_queued`.
 */
export async function sandboxRevoke(ctx: Context, request: Request): Promise<Response> {
  const form = await readForm(request)
  const client = await checkClientAssertion(ctx, form)
  const grantId = form.get('grant_id')
  if (!grantId) throw new OAuthError('invalid_request', 'grant_id is required')
  const grant = grantId.length <= 64 ? await ctx.store.getGrant(grantId) : null
  if (!grant || grant.clientId !== client.clientId)
    throw new OAuthError('invalid_grant', 'no such grant for this client')
  const actor = { type: 'client', id: client.clientId } as const
  const ended =
    (await usableGrant(ctx, grant.id, grant)) &&
    (await endGrant(ctx, grant.id, 'revoked', SANDBOX_REVOKED, actor, ['active']))
  if (!ended) throw new OAuthError('invalid_grant', 'the grant is not active')
  return json({ ...grantView(ended, ctx.now()), event_queued: Boolean(client.webhookUri) })
}
