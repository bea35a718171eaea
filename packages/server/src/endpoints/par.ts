import { checkAuthorizationDetails } from '../checks/authorization-details.ts'
import { checkClientAssertion } from '../checks/client-assertion.ts'
import { checkDpop } from '../checks/dpop.ts'
import { checkGrantManagement } from '../checks/grant-management.ts'
import { checkPkceChallenge } from '../checks/pkce.ts'
import { checkRedirectUri } from '../checks/redirect-uri.ts'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import { readForm } from '../http/body.ts'
import { json } from '../http/respond.ts'
import { savePushedRequest } from '../store/records.ts'
import type { AuthorizationRequest } from '../store/store.ts'
import { randomToken } from '../tokens/random.ts'

const JKT = /^[A-Za-z0-9_-]{43}$/
/** Parameters that must not be pushed: they would let a request escape the profile. */
const FORBIDDEN = ['request', 'request_uri', 'response_mode', 'client_secret']

/**
 * Pushed authorization request (RFC 9126), the only way to start an authorization:
 * authenticate the client, then check redirect_uri, PKCE, authorization_details, Grant Management
 * (`grant_id` + `grant_management_action`: change an existing grant) and the DPoP key binding, and
 * hand back a one-time `request_uri`.
 */
export async function par(ctx: Context, request: Request): Promise<Response> {
  const form = await readForm(request)
  const client = await checkClientAssertion(ctx, form)
  for (const p of FORBIDDEN)
    if (form.has(p)) throw new OAuthError('invalid_request', `${p} is not allowed here`)
  if (form.get('response_type') !== 'code')
    throw new OAuthError('invalid_request', 'response_type must be code')
  const redirectUri = checkRedirectUri(client, form.get('redirect_uri'))
  const codeChallenge = checkPkceChallenge(form.get('code_challenge'), form.get('code_challenge_method'))
  const authorizationDetails = checkAuthorizationDetails(ctx, form.get('authorization_details'))
  const grantManagement = await checkGrantManagement(ctx, form, client.clientId, authorizationDetails)
  const state = form.get('state')
  if (state !== undefined && (state.length > 512 || !/^[\x20-\x7e]*$/.test(state)))
    throw new OAuthError('invalid_request', 'state must be at most 512 printable ASCII characters')

  // check_dpop_jkt: the code will only be redeemable with this key (RFC 9449 §10).
  let dpopJkt = form.get('dpop_jkt')
  if (request.headers.has('dpop')) {
    const proof = await checkDpop(ctx, request, { htm: 'POST', htu: ctx.urls.par, at: 'token' })
    if (dpopJkt !== undefined && dpopJkt !== proof.jkt)
      throw new OAuthError('invalid_dpop_proof', 'dpop_jkt does not match the DPoP proof')
    dpopJkt = proof.jkt
  }
  if (!dpopJkt || !JKT.test(dpopJkt))
    throw new OAuthError('invalid_request', 'dpop_jkt (or a DPoP proof) is required')

  const authRequest: AuthorizationRequest = {
    clientId: client.clientId,
    redirectUri,
    codeChallenge,
    authorizationDetails,
    dpopJkt,
    ...(state !== undefined ? { state } : {}),
    ...(grantManagement ? { grantManagement } : {}),
  }
  const requestUri = `urn:ietf:params:oauth:request_uri:${randomToken(32)}`
  const expiresIn = ctx.config.lifetimes.requestUri
  await savePushedRequest(ctx.store, {
    requestUri,
    request: authRequest,
    expiresAt: ctx.now() + expiresIn * 1000,
  })
  return json({ request_uri: requestUri, expires_in: expiresIn }, 201)
}
