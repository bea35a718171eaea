import * as oauth from 'oauth4webapi'
import type { ClientContext } from './context.ts'
import { CallbackError, IssuerMismatchError, StateMismatchError } from './errors.ts'
import { toClientError, withNonceRetry } from './transport.ts'

/**
 * Read the authorization response at the recipient's callback (a link or an amendment): exactly one
 * `iss`, identical to the issuer (RFC 9207 §2.4), exactly one `state`, the expected one, then
 * oauth4webapi's checks. The person's refusal (`access_denied`) is `'denied'`; any other error, or no
 * code, is a `CallbackError`.
 */
export async function readCallback(
  ctx: ClientContext,
  callbackUrl: string | URL,
  expectedState: string,
): Promise<{ as: oauth.AuthorizationServer; callback: URLSearchParams } | 'denied'> {
  let url: URL
  try {
    url = new URL(callbackUrl)
  } catch {
    throw new CallbackError('the callback URL is malformed')
  }
  const as = await ctx.metadata()
  const params = url.searchParams
  const iss = params.getAll('iss')
  if (iss.length !== 1 || iss[0] !== as.issuer)
    throw new IssuerMismatchError({
      expected: as.issuer,
      ...(iss.length === 1 ? { received: iss[0] as string } : { count: iss.length }),
      source: 'callback',
    })
  if (params.getAll('state').length !== 1 || params.get('state') !== expectedState)
    throw new StateMismatchError()
  let callback: URLSearchParams
  try {
    callback = oauth.validateAuthResponse(as, ctx.oauthClient, params, expectedState)
  } catch (err) {
    if (err instanceof oauth.AuthorizationResponseError) {
      if (err.error === 'access_denied') return 'denied'
      throw new CallbackError('the authorization server returned an error', {
        serverError: err.error,
        ...(typeof err.error_description === 'string' ? { description: err.error_description } : {}),
      })
    }
    throw new CallbackError('the callback is not a valid authorization response')
  }
  if (!callback.get('code')) throw new CallbackError('the callback has no authorization code')
  return { as, callback }
}

/**
 * Redeem the callback's code at the token endpoint (RFC 6749 §4.1.3, PKCE, DPoP-bound; one retry
 * with the server's DPoP nonce), for a link or an amendment alike. Errors become the SDK's own,
 * with the code and the verifier kept out of every message.
 */
export async function exchangeCode(
  ctx: ClientContext,
  read: { as: oauth.AuthorizationServer; callback: URLSearchParams },
  pending: { redirectUri: string; codeVerifier: string },
  dpop: oauth.DPoPHandle,
): Promise<oauth.TokenEndpointResponse> {
  const { as, callback } = read
  const auth = await ctx.auth()
  try {
    return await withNonceRetry(async () =>
      oauth.processAuthorizationCodeResponse(
        as,
        ctx.oauthClient,
        await oauth.authorizationCodeGrantRequest(
          as,
          ctx.oauthClient,
          auth,
          callback,
          pending.redirectUri,
          pending.codeVerifier,
          { DPoP: dpop, ...ctx.t.opts },
        ),
      ),
    )
  } catch (err) {
    throw await toClientError(err, {
      malformed: 'the token response is malformed',
      secrets: [callback.get('code') ?? undefined, pending.codeVerifier],
      now: ctx.clock(),
    })
  }
}
