import { type ClientRecord, clientRegistrationRequest, describeIssues, isSecureUrl } from '@consentry/core'
import { checkClientName, checkEgressUris } from '../checks/client-metadata.ts'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import { readJson } from '../http/body.ts'
import { json } from '../http/respond.ts'
import { fetchLogo } from '../net/logo.ts'
import { randomToken, timingSafeEqual } from '../tokens/random.ts'

/** check_initial_access_token: registration is open only to holders of a configured bearer token. */
function checkInitialAccessToken(ctx: Context, request: Request): void {
  const tokens = ctx.config.initialAccessTokens
  const auth = request.headers.get('authorization') ?? ''
  const presented = /^Bearer ([\x21-\x7e]+)$/.exec(auth)?.[1]
  if (!tokens.length || !presented || !tokens.some((t) => timingSafeEqual(t, presented)))
    throw new OAuthError('invalid_token', 'a valid initial access token is required to register', 401, {
      'www-authenticate': 'Bearer error="invalid_token"',
    })
}

/** RFC 7591 dynamic client registration: `private_key_jwt` clients with their public keys. */
export async function register(ctx: Context, request: Request): Promise<Response> {
  checkInitialAccessToken(ctx, request)
  const body = await readJson(request, (m) => new OAuthError('invalid_client_metadata', m))
  const uris = body.redirect_uris
  if (Array.isArray(uris) && uris.some((u) => typeof u !== 'string' || !isSecureUrl(u)))
    throw new OAuthError(
      'invalid_redirect_uri',
      'redirect_uris must be https, or http on a loopback host, without fragments, userinfo or control characters',
    )
  const parsed = clientRegistrationRequest.safeParse(body)
  if (!parsed.success) throw new OAuthError('invalid_client_metadata', describeIssues(parsed.error))
  const m = parsed.data
  checkEgressUris(ctx, m)
  const nameSkeleton = await checkClientName(ctx, m)
  const now = ctx.now()
  const client: ClientRecord = {
    clientId: `cl_${randomToken(16)}`,
    clientName: m.client_name,
    redirectUris: m.redirect_uris,
    ...(m.jwks ? { jwks: m.jwks as ClientRecord['jwks'] } : {}),
    ...(m.jwks_uri ? { jwksUri: m.jwks_uri } : {}),
    ...(m.webhook_uri ? { webhookUri: m.webhook_uri } : {}),
    ...(m.client_uri ? { clientUri: m.client_uri } : {}),
    ...(m.logo_uri ? { logoUri: m.logo_uri } : {}),
    nameSkeleton,
    createdAt: now,
  }
  await ctx.store.createClient(client)
  // The logo is fetched once, now, and served by the holder: the consent page never hot-links it
  // (that would tell the recipient the person's IP address before they decide).
  const logo = m.logo_uri ? await fetchLogo(m.logo_uri, ctx.config.egressOptions) : null
  if (logo) await ctx.store.saveClientLogo({ clientId: client.clientId, ...logo, createdAt: now })
  await ctx.audit.record({
    type: 'client.registered',
    actor: { type: 'holder' },
    clientId: client.clientId,
    data: {
      client_name: client.clientName,
      redirect_uris: client.redirectUris.length,
      ...(m.logo_uri ? { logo: logo ? 'stored' : 'unavailable' } : {}),
    },
  })
  return json(
    {
      client_id: client.clientId,
      client_id_issued_at: Math.floor(now / 1000),
      client_name: client.clientName,
      redirect_uris: client.redirectUris,
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: m.grant_types,
      response_types: m.response_types,
      dpop_bound_access_tokens: true,
      ...(m.jwks ? { jwks: m.jwks } : {}),
      ...(m.jwks_uri ? { jwks_uri: m.jwks_uri } : {}),
      ...(m.webhook_uri ? { webhook_uri: m.webhook_uri } : {}),
      ...(m.client_uri ? { client_uri: m.client_uri } : {}),
      ...(m.logo_uri ? { logo_uri: m.logo_uri } : {}),
    },
    201,
  )
}
