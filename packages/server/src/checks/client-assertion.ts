import { ALLOWED_ALGS, type ClientRecord } from '@consentry/core'
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import type { Form } from '../http/body.ts'

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/** Longest lifetime accepted for a client assertion. */
const MAX_ASSERTION_LIFETIME_S = 300

const fail = (why: string) => new OAuthError('invalid_client', why, 401)

/** The client's registered keys, or its `jwks_uri` set (per server, fetched through the guard). */
function keysOf(ctx: Context, client: ClientRecord): JWTVerifyGetKey {
  if (client.jwks) return createLocalJWKSet(client.jwks as Parameters<typeof createLocalJWKSet>[0])
  return ctx.remoteJwks.get(client.jwksUri!)
}

/**
 * check_client_assertion: `private_key_jwt` (RFC 7523) — the only client authentication accepted.
 * `aud` must be the issuer identifier as a single string (FAPI 2.0 §5.3.2.1, draft-ietf-oauth-rfc7523bis:
 * an array, even of one element, is refused — the audience-injection attacks), `iss` = `sub` =
 * client_id, `iat` present and recent, short-lived, `jti` never seen before, and only PS256 / ES256 /
 * EdDSA signatures.
 */
export async function checkClientAssertion(ctx: Context, form: Form): Promise<ClientRecord> {
  const type = form.get('client_assertion_type')
  const assertion = form.get('client_assertion')
  if (type !== JWT_BEARER || !assertion) throw fail('private_key_jwt client authentication is required')
  let claims: JWTPayload
  try {
    const header = decodeProtectedHeader(assertion)
    if (!ALLOWED_ALGS.includes(header.alg as never)) throw fail('client assertion algorithm not allowed')
    claims = decodeJwt(assertion)
  } catch (e) {
    if (e instanceof OAuthError) throw e
    throw fail('client assertion is not a JWT')
  }
  const clientId = claims.iss
  if (typeof clientId !== 'string' || claims.sub !== clientId)
    throw fail('client assertion iss and sub must be the client_id')
  const claimed = form.get('client_id')
  if (claimed !== undefined && claimed !== clientId)
    throw fail('client_id does not match the client assertion')
  const client = await ctx.store.getClient(clientId)
  if (!client) throw fail('unknown client')

  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(assertion, keysOf(ctx, client), {
      algorithms: [...ALLOWED_ALGS],
      issuer: clientId,
      subject: clientId,
      audience: ctx.urls.issuer,
      requiredClaims: ['exp', 'iat', 'jti'],
      // `iat` at most this old (and not in the future beyond the tolerance).
      maxTokenAge: MAX_ASSERTION_LIFETIME_S,
      currentDate: new Date(ctx.now()),
      clockTolerance: 30,
    }))
  } catch {
    throw fail('client assertion is invalid (signature, audience, iat or expiry)')
  }
  // FAPI 2.0 / rfc7523bis: the audience is the issuer identifier itself, a string — not an array,
  // not even one that holds only the issuer.
  if (typeof payload.aud !== 'string')
    throw fail('client assertion aud must be the issuer identifier as a single string')
  const nowS = Math.floor(ctx.now() / 1000)
  if (payload.exp! - nowS > MAX_ASSERTION_LIFETIME_S) throw fail('client assertion lives too long')
  if (typeof payload.jti !== 'string' || payload.jti.length > 256)
    throw fail('client assertion jti is invalid')
  const first = await ctx.store.recordJti(`assertion:${clientId}:${payload.jti}`, (payload.exp! + 60) * 1000)
  if (!first) throw fail('client assertion jti was already used')
  return client
}
