import type { ClientRecord } from '@consentry/core'
import { checkClientAssertion } from '../checks/client-assertion.ts'
import { checkDpop, type DpopProof } from '../checks/dpop.ts'
import { checkPkceVerifier, requirePkceVerifier } from '../checks/pkce.ts'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import { endGrant, usableGrant } from '../grants/lifecycle.ts'
import { type Form, readForm } from '../http/body.ts'
import { json } from '../http/respond.ts'
import { consumeCode } from '../store/records.ts'
import { issueGrantAccessToken, issueManagementAccessToken } from '../tokens/access-token.ts'
import { issueGrantTokens } from '../tokens/grant-tokens.ts'
import { hashSecret, randomToken } from '../tokens/random.ts'

const MANAGEMENT_SCOPES = ['grant_management_query', 'grant_management_revoke']

/**
 * Token endpoint. Every grant type first authenticates the client (private_key_jwt) and verifies the
 * DPoP proof, before anything single-use is consumed, so a nonce retry never burns a code.
 */
export async function token(ctx: Context, request: Request): Promise<Response> {
  const form = await readForm(request)
  const grantType = form.get('grant_type')
  if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required')
  if (!['authorization_code', 'refresh_token', 'client_credentials'].includes(grantType))
    throw new OAuthError(
      'unsupported_grant_type',
      'grant_type must be authorization_code, refresh_token or client_credentials',
    )
  const client = await checkClientAssertion(ctx, form)
  const proof = await checkDpop(ctx, request, { htm: 'POST', htu: ctx.urls.token, at: 'token' })
  const body =
    grantType === 'authorization_code'
      ? await authorizationCode(ctx, form, client, proof)
      : grantType === 'refresh_token'
        ? await refreshToken(ctx, form, client, proof)
        : await clientCredentials(ctx, form, client, proof)
  return json(body)
}

async function authorizationCode(ctx: Context, form: Form, client: ClientRecord, proof: DpopProof) {
  const code = form.get('code')
  if (!code) throw new OAuthError('invalid_request', 'code is required')
  // Checked before the code is touched: a request that cannot succeed must not burn it (RFC 7636 §4.5).
  const verifier = requirePkceVerifier(form.get('code_verifier'))
  // Only the client the code was issued to can consume it; another client's attempt (a stolen or
  // injected code) is refused without marking it used, so the owner still redeems it and its grant
  // stands (RFC 6749 §4.1.3, RFC 9700 §4.5).
  const redeemed = await consumeCode(ctx.store, await hashSecret(code), ctx.now(), client.clientId)
  if (!redeemed) throw new OAuthError('invalid_grant', 'the authorization code is invalid or expired')
  if (redeemed.status === 'wrong_client')
    throw new OAuthError('invalid_grant', 'the authorization code was issued to another client')
  const c = redeemed.code
  if (redeemed.status === 'reused') {
    // RFC 9700 §4.5: a code its own client presents twice was probably stolen; revoke what it issued.
    await reuseDetected(ctx, client, c, 'authorization_code_reuse', 'code.reused')
    throw new OAuthError('invalid_grant', 'the authorization code was already used')
  }
  if (form.get('redirect_uri') !== c.redirectUri)
    throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request')
  await checkPkceVerifier(verifier, c.codeChallenge)
  if (proof.jkt !== c.dpopJkt)
    throw new OAuthError('invalid_grant', 'the DPoP key is not the one bound at the authorization request')
  const { grant, raced } = await grantForIssuance(ctx, c.grantId, 'authorization_code_reuse')

  return issueGrantTokens(ctx, client, grant, proof.jkt, {
    raced,
    audit: { grant_type: 'authorization_code' },
  })
}

async function refreshToken(ctx: Context, form: Form, client: ClientRecord, proof: DpopProof) {
  const presented = form.get('refresh_token')
  if (!presented) throw new OAuthError('invalid_request', 'refresh_token is required')
  const hash = await hashSecret(presented)
  const record = await ctx.store.getRefreshToken(hash)
  if (!record || record.clientId !== client.clientId)
    throw new OAuthError('invalid_grant', 'the refresh token is invalid')
  if (record.jkt !== proof.jkt)
    throw new OAuthError('invalid_grant', 'the refresh token is bound to another DPoP key')
  const next = randomToken(32)
  const rotated = await ctx.store.rotateRefreshToken(
    hash,
    {
      tokenHash: await hashSecret(next),
      grantId: record.grantId,
      clientId: client.clientId,
      jkt: proof.jkt,
      createdAt: ctx.now(),
      expiresAt: record.expiresAt,
    },
    ctx.now(),
  )
  if (rotated?.status === 'reused') {
    await reuseDetected(ctx, client, record, 'refresh_token_reuse', 'token.reuse_detected')
    throw new OAuthError('invalid_grant', 'the refresh token was already used; the grant has been revoked')
  }
  if (!rotated) throw new OAuthError('invalid_grant', 'the refresh token is invalid, expired or revoked')
  const { grant, raced } = await grantForIssuance(ctx, record.grantId, 'refresh_token_reuse')
  if (raced) await ctx.store.revokeRefreshTokens(grant.id, ctx.now()) // the rotated-in token too
  const access = await issueGrantAccessToken(ctx, grant, proof.jkt)
  await ctx.audit.record({
    type: 'token.refreshed',
    actor: { type: 'client', id: client.clientId },
    grantId: grant.id,
    clientId: client.clientId,
    subject: grant.subject,
    data: { expires_in: access.expiresIn },
  })
  return {
    access_token: access.token,
    token_type: 'DPoP',
    expires_in: access.expiresIn,
    refresh_token: next,
    grant_id: grant.id,
    authorization_details: grant.authorizationDetails,
  }
}

/** A single-use secret came back: revoke the grant it belongs to and record who presented it. */
async function reuseDetected(
  ctx: Context,
  presenter: ClientRecord,
  secret: { grantId: string; clientId: string },
  reason: 'authorization_code_reuse' | 'refresh_token_reuse',
  event: 'code.reused' | 'token.reuse_detected',
) {
  await endGrant(ctx, secret.grantId, 'revoked', reason, { type: 'system' })
  await ctx.audit.record({
    type: event,
    actor: { type: 'client', id: presenter.clientId },
    grantId: secret.grantId,
    clientId: secret.clientId,
    data: {},
  })
}

/**
 * check_grant_for_issuance: the grant must be usable — except in one race. The caller has just won a
 * single-use redemption (code or refresh token) while concurrent replays of the same secret revoked
 * the grant for its reuse (RFC 6749 §4.1.2 / RFC 9700 §4.14: deny the replays, revoke what the secret
 * issued). The winner still completes, but everything it issues is born revoked.
 */
async function grantForIssuance(ctx: Context, grantId: string, reuseReason: string) {
  const stored = await ctx.store.getGrant(grantId)
  if (stored?.status === 'revoked' && stored.endedReason === reuseReason)
    return { grant: stored, raced: true }
  const grant = await usableGrant(ctx, grantId, stored)
  if (!grant) throw new OAuthError('invalid_grant', 'the grant is no longer active')
  return { grant, raced: false }
}

async function clientCredentials(ctx: Context, form: Form, client: ClientRecord, proof: DpopProof) {
  const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean)
  if (!scopes.length || scopes.some((s) => !MANAGEMENT_SCOPES.includes(s)))
    throw new OAuthError(
      'invalid_scope',
      'client_credentials is only for grant_management_query and grant_management_revoke',
    )
  const scope = [...new Set(scopes)].join(' ')
  const access = await issueManagementAccessToken(ctx, client.clientId, scope, proof.jkt)
  return { access_token: access.token, token_type: 'DPoP', expires_in: access.expiresIn, scope }
}
