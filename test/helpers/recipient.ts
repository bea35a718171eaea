import { type CryptoKey, exportJWK, generateKeyPair } from 'jose'
import * as oauth from 'oauth4webapi'
import { FormBrowser, formAction, hiddenInput } from './browser.ts'

export const INITIAL_ACCESS_TOKEN = 'demo-initial-access-token'
export const REDIRECT_URI = 'http://127.0.0.1:9/callback'

/** A recipient built directly on oauth4webapi: an independent client for testing the server. */
export interface Recipient {
  as: oauth.AuthorizationServer
  client: oauth.Client
  auth: oauth.ClientAuth
  privateKey: CryptoKey
  redirectUri: string
}

const insecure = { [oauth.allowInsecureRequests]: true }

export async function discover(issuer: string): Promise<oauth.AuthorizationServer> {
  const res = await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure })
  return oauth.processDiscoveryResponse(new URL(issuer), res)
}

export async function registerRecipient(
  issuer: string,
  opts: { redirectUri?: string; webhookUri?: string; alg?: 'ES256' | 'PS256' | 'EdDSA'; name?: string } = {},
): Promise<Recipient> {
  const as = await discover(issuer)
  const alg = opts.alg ?? 'ES256'
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), alg, use: 'sig', kid: 'k1' }
  const redirectUri = opts.redirectUri ?? REDIRECT_URI
  const res = await fetch(as.registration_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
    body: JSON.stringify({
      client_name: opts.name ?? 'Beacon Lending',
      redirect_uris: [redirectUri],
      jwks: { keys: [jwk] },
      token_endpoint_auth_method: 'private_key_jwt',
      ...(opts.webhookUri ? { webhook_uri: opts.webhookUri } : {}),
    }),
  })
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`)
  const body = await res.json()
  return {
    as,
    client: { client_id: body.client_id, token_endpoint_auth_signing_alg: alg },
    auth: oauth.PrivateKeyJwt({ key: privateKey, kid: 'k1' }),
    privateKey,
    redirectUri,
  }
}

export const HISTORY_DETAIL = {
  type: 'transaction_history',
  datatypes: ['accounts', 'balances', 'transactions'],
  fields: ['booked_at', 'amount', 'currency', 'description', 'category'],
  period: { lookback_days: 90 },
  purpose: 'credit_assessment',
  expires_in: 30 * 86400,
  max_reads_per_day: 4,
}

export interface PendingLink {
  requestUri: string
  state: string
  verifier: string
  dpopKeys: CryptoKeyPair
  url: string
}

/** PAR with PKCE S256 and dpop_jkt; returns the authorization URL to visit. */
export async function pushRequest(
  r: Recipient,
  details: unknown[] = [HISTORY_DETAIL],
  extra: Record<string, string> = {},
): Promise<PendingLink> {
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const dpopKeys = await oauth.generateKeyPair('ES256', { extractable: true })
  const params = new URLSearchParams({
    response_type: 'code',
    redirect_uri: r.redirectUri,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    authorization_details: JSON.stringify(details),
    dpop_jkt: await thumbprint(dpopKeys.publicKey),
    ...extra,
  })
  const res = await oauth.pushedAuthorizationRequest(r.as, r.client, r.auth, params, insecure)
  const par = await oauth.processPushedAuthorizationResponse(r.as, r.client, res)
  const url = new URL(r.as.authorization_endpoint!)
  url.searchParams.set('client_id', r.client.client_id)
  url.searchParams.set('request_uri', par.request_uri)
  return { requestUri: par.request_uri, state, verifier, dpopKeys, url: url.href }
}

async function thumbprint(key: CryptoKey): Promise<string> {
  const { calculateJwkThumbprint } = await import('jose')
  return calculateJwkThumbprint(await exportJWK(key))
}

export interface ConsentChoice {
  username?: string
  password?: string
  decision?: 'allow' | 'deny'
  accounts?: string[]
  fields?: string[]
  balances?: boolean
  /** A `period` option value (`lookback:30`, `dates:…`); absent: as asked. */
  period?: string
  /** An `expires` option value (`days:7`); absent: as asked. */
  expires?: string
}

/**
 * One browser per (holder, person), kept signed in between links as a real person's would be.
 */
const browsers = new Map<string, FormBrowser>()
export function browserFor(issuer: string, username = 'alice'): FormBrowser {
  const key = `${issuer} ${username}`
  const known = browsers.get(key)
  if (known) return known
  const fresh = new FormBrowser()
  browsers.set(key, fresh)
  return fresh
}

/**
 * Play the account holder over real HTTP: open the authorization URL, sign in on the login form if
 * not signed in yet, submit the consent form. Returns the URL the browser was sent back to (the
 * recipient's callback).
 */
export async function consent(
  issuer: string,
  link: PendingLink,
  choice: ConsentChoice = {},
  browser = choice.password !== undefined ? new FormBrowser() : browserFor(issuer, choice.username),
) {
  let { res, url } = await browser.follow(link.url, issuer)
  let page = await res.text()
  if (url.includes('/login')) {
    ;({ res, url } = await browser.follow(formAction(page, url), issuer, {
      form: {
        csrf: hiddenInput(page, 'csrf'),
        username: choice.username ?? 'alice',
        password: choice.password ?? 'alice',
      },
    }))
    page = await res.text()
  }
  if (res.status !== 200) throw new Error(`consent page: ${res.status} ${page.slice(0, 300)}`)
  const accounts =
    choice.accounts ?? [...page.matchAll(/name="account"[^>]*value="([^"]+)"/g)].map((m) => m[1]!)
  const fields = choice.fields ?? [...page.matchAll(/name="field"[^>]*value="([^"]+)"/g)].map((m) => m[1]!)
  const form: Record<string, string | string[]> = {
    csrf: hiddenInput(page, 'csrf'),
    decision: choice.decision ?? 'allow',
    account: accounts,
    field: fields,
  }
  if (choice.balances !== false && page.includes('value="balances"')) form.datatype = 'balances'
  // A change to a grant (Grant Management) names the version of the grant the page showed.
  if (page.includes('name="grant_version"')) form.grant_version = hiddenInput(page, 'grant_version')
  if (choice.period !== undefined) form.period = choice.period
  if (choice.expires !== undefined) form.expires = choice.expires
  const answer = await browser.request(formAction(page, url), { form })
  return { status: answer.status, location: answer.headers.get('location'), page, browser }
}

/**
 * A token-endpoint call, sent again once if the server asks for its DPoP nonce (the DPoP handle has
 * cached it from the refusal).
 */
export async function withNonceRetry<T>(
  send: () => Promise<Response>,
  process: (res: Response) => Promise<T>,
): Promise<T> {
  try {
    return await process(await send())
  } catch (e) {
    if (!oauth.isDPoPNonceError(e)) throw e
    return process(await send())
  }
}

/** Exchange the code (DPoP, nonce retry). */
export async function exchange(r: Recipient, link: PendingLink, callback: string) {
  const params = oauth.validateAuthResponse(r.as, r.client, new URL(callback), link.state)
  const DPoP = oauth.DPoP(r.client, link.dpopKeys)
  const tokens = await withNonceRetry(
    () =>
      oauth.authorizationCodeGrantRequest(r.as, r.client, r.auth, params, r.redirectUri, link.verifier, {
        DPoP,
        ...insecure,
      }),
    (res) => oauth.processAuthorizationCodeResponse(r.as, r.client, res),
  )
  return { tokens, DPoP }
}

/** A DPoP-bound `client_credentials` token for grant management (nonce retry). */
export function managementToken(
  r: Recipient,
  DPoP: oauth.DPoPHandle,
  scope = 'grant_management_query grant_management_revoke',
) {
  const params = new URLSearchParams({ scope })
  return withNonceRetry(
    () => oauth.clientCredentialsGrantRequest(r.as, r.client, r.auth, params, { DPoP, ...insecure }),
    (res) => oauth.processClientCredentialsResponse(r.as, r.client, res),
  )
}

/** Full link: PAR → login → consent → code exchange. */
export async function link(
  issuer: string,
  r: Recipient,
  details: unknown[] = [HISTORY_DETAIL],
  choice: ConsentChoice = {},
) {
  const pending = await pushRequest(r, details)
  const answer = await consent(issuer, pending, choice)
  if (answer.status !== 303 || !answer.location) throw new Error(`consent answer ${answer.status}`)
  const { tokens, DPoP } = await exchange(r, pending, answer.location)
  return { pending, tokens, DPoP }
}

/**
 * A protected-resource request with DPoP and one nonce retry. oauth4webapi throws on 401 challenges;
 * tests want the response itself, so the challenge error's response is returned. `options` reach
 * oauth4webapi (e.g. a `customFetch` that steers the request to another instance).
 */
export async function resourceRequest(
  method: string,
  token: string,
  url: string,
  DPoP: oauth.DPoPHandle,
  headers: Record<string, string> = {},
  options: oauth.ProtectedResourceRequestOptions = {},
) {
  const send = async (): Promise<Response> => {
    try {
      return await oauth.protectedResourceRequest(token, method, new URL(url), new Headers(headers), null, {
        ...insecure,
        ...options,
        DPoP,
      })
    } catch (e) {
      if (e instanceof oauth.WWWAuthenticateChallengeError) return e.response
      throw e
    }
  }
  const res = await send()
  if (res.status === 401 && res.headers.get('www-authenticate')?.includes('use_dpop_nonce')) return send()
  return res
}

/** {@link resourceRequest} with GET. */
export const resourceGet = (
  token: string,
  url: string,
  DPoP: oauth.DPoPHandle,
  headers: Record<string, string> = {},
) => resourceRequest('GET', token, url, DPoP, headers)

export { oauth, insecure }
