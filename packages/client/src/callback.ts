import * as oauth from 'oauth4webapi'
import type { ClientContext } from './context.ts'
import { CallbackError, IssuerMismatchError, StateMismatchError } from './errors.ts'

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
