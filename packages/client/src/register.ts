import { ALLOWED_ALGS, type AllowedAlg, isSecureUrl } from '@consentry/core'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import * as oauth from 'oauth4webapi'
import { ConfigurationError, InvalidRequestError, ProtocolError } from './errors.ts'
import { publicJwkOf, thumbprint } from './keys.ts'
import { createTransport, discover, type FetchFn, toClientError } from './transport.ts'

/** Options of {@link registerClient}. */
export interface RegisterClientOptions {
  /** The data holder's issuer identifier (https; http only on loopback). */
  issuer: string
  /** The initial access token the data holder gave you for registration. */
  initialAccessToken: string
  /** Your name as the person will see it on the consent page. */
  clientName: string
  /** Exact redirect URIs (https, or http on loopback). The first becomes `redirectUri` of the result. */
  redirectUris: string[]
  /** Where the server pushes signed grant-ended events (Consentry extension). */
  webhookUri?: string
  /** Signing algorithm of the generated client key: `ES256` (default), `PS256` or `EdDSA`. */
  alg?: AllowedAlg
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch
  /** DANGEROUS: allow a plain-http, non-loopback issuer. Never in production. */
  dangerouslyAllowInsecureHttp?: boolean
}

/**
 * A registered client: keep it secret (it holds the private key) and pass it to `createConsentClient`.
 * Plain JSON.
 */
export interface RegisteredClient {
  /** The data holder's issuer identifier. */
  issuer: string
  /** The client id the holder issued. */
  clientId: string
  /** The registered name. */
  clientName: string
  /** The private signing key (JWK with `kid` and `alg`). */
  privateKey: JWK
  /** The key's `kid`, as registered. */
  privateKeyKid: string
  /** The key's algorithm. */
  alg: AllowedAlg
  /** The redirect URI `startLink` uses (the first registered). */
  redirectUri: string
  /** Every registered redirect URI. */
  redirectUris: string[]
  /** The registered webhook URI, if any. */
  webhookUri?: string
}

/**
 * Generate a key pair and register a client by RFC 7591 (`private_key_jwt`, public `jwks`, DPoP-bound
 * tokens). Returns the config to keep; the private key never leaves your process.
 *
 * @example
 * ```ts
 * const config = await registerClient({
 *   issuer: 'https://pay.example',
 *   initialAccessToken: process.env.CONSENTRY_IAT!,
 *   clientName: 'Beacon Lending',
 *   redirectUris: ['https://lender.example/callback'],
 *   webhookUri: 'https://lender.example/consentry/events',
 * })
 * await secrets.put('consentry-client', JSON.stringify(config))
 * const client = createConsentClient(config)
 * ```
 */
export async function registerClient(options: RegisterClientOptions): Promise<RegisteredClient> {
  const alg = options.alg ?? 'ES256'
  if (!(ALLOWED_ALGS as readonly string[]).includes(alg))
    throw new ConfigurationError('alg must be ES256, PS256 or EdDSA')
  if (typeof options.initialAccessToken !== 'string' || options.initialAccessToken.length === 0)
    throw new InvalidRequestError('initialAccessToken is required')
  const clientName = typeof options.clientName === 'string' ? options.clientName.trim() : ''
  if (clientName.length === 0 || clientName.length > 100)
    throw new InvalidRequestError('clientName must be 1 to 100 characters')
  const redirectUris = options.redirectUris
  if (!Array.isArray(redirectUris) || redirectUris.length === 0 || redirectUris.length > 10)
    throw new InvalidRequestError('redirectUris must list 1 to 10 URIs')
  const secure = (u: unknown) =>
    typeof u === 'string' && (isSecureUrl(u) || options.dangerouslyAllowInsecureHttp === true)
  if (!redirectUris.every(secure))
    throw new InvalidRequestError('every redirect URI must be https, or http on a loopback host')
  if (options.webhookUri !== undefined && !secure(options.webhookUri))
    throw new InvalidRequestError('webhookUri must be https, or http on a loopback host')

  const transport = createTransport({
    issuer: options.issuer,
    ...(options.fetch ? { fetch: options.fetch as FetchFn } : {}),
    ...(options.dangerouslyAllowInsecureHttp ? { dangerouslyAllowInsecureHttp: true } : {}),
  })
  const as = await discover(transport)
  if (!as.registration_endpoint) throw new ProtocolError('the server does not announce registration_endpoint')

  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = publicJwkOf(await exportJWK(publicKey))
  const kid = await thumbprint(publicJwk)
  const pub: JWK = { ...publicJwk, kid, alg, use: 'sig' }
  const priv: JWK = { ...(await exportJWK(privateKey)), kid, alg }

  const metadata = {
    client_name: clientName,
    redirect_uris: redirectUris,
    jwks: { keys: [pub] },
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: alg,
    dpop_bound_access_tokens: true,
    ...(options.webhookUri !== undefined ? { webhook_uri: options.webhookUri } : {}),
  }
  let registered: Record<string, unknown>
  try {
    const response = await oauth.dynamicClientRegistrationRequest(as, metadata as never, {
      initialAccessToken: options.initialAccessToken,
      ...transport.opts,
    })
    registered = (await oauth.processDynamicClientRegistrationResponse(response)) as Record<string, unknown>
  } catch (err) {
    throw await toClientError(err, {
      malformed: 'the registration response is malformed',
      secrets: [options.initialAccessToken],
    })
  }
  const clientId = registered.client_id
  if (typeof clientId !== 'string' || clientId.length === 0)
    throw new ProtocolError('the registration response lacks client_id')

  return {
    issuer: transport.issuer,
    clientId,
    clientName,
    privateKey: priv,
    privateKeyKid: kid,
    alg,
    redirectUri: redirectUris[0] as string,
    redirectUris: [...redirectUris],
    ...(options.webhookUri !== undefined ? { webhookUri: options.webhookUri } : {}),
  }
}
