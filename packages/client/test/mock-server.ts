/**
 * A small, strict simulation of a Consentry server (docs/protocol.md) on msw, for the client's unit
 * tests: real signatures, real DPoP proof checks, nonces, PKCE, refresh rotation with reuse detection.
 */
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'

export const ISSUER = 'http://127.0.0.1:9999'
export const RESOURCE = `${ISSUER}/api`
export const REDIRECT_URI = 'http://127.0.0.1:3000/callback'

export interface RecordedRequest {
  method: string
  path: string
  url: string
  headers: Record<string, string>
  form?: Record<string, string>
  json?: unknown
  /** Decoded DPoP proof claims (if a DPoP header was sent). */
  dpop?: Record<string, unknown>
}

interface GrantRecord {
  id: string
  clientId: string
  status: 'active' | 'revoked' | 'expired'
  details: Record<string, unknown>[]
  createdAt: number
  expiresAt: number
}

interface ParRecord {
  clientId: string
  params: Record<string, string>
}

export interface Transaction {
  id: string
  account_id: string
  booked_at: string
  amount: string
  currency: string
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const random = (prefix: string) => `${prefix}${base64url(crypto.getRandomValues(new Uint8Array(16)))}`

export function createMockServer() {
  const requests: RecordedRequest[] = []
  const clients = new Map<string, JWK>()
  const pars = new Map<string, ParRecord>()
  const codes = new Map<string, { par: ParRecord; grantId: string; used: boolean }>()
  const grants = new Map<string, GrantRecord>()
  const refreshTokens = new Map<string, { grantId: string; used: boolean; jkt: string }>()
  const accessTokens = new Map<string, { grantId?: string; jkt: string; valid: boolean; scope?: string }>()
  /** Every secret the server handed out (tokens, codes): error messages must never contain them. */
  const secrets = new Set<string>()
  let nonce = random('n-')
  let signing: { privateKey: CryptoKey; publicJwk: JWK } | undefined

  const config = {
    /** Seconds an access token lives. */
    accessTokenTtl: 300,
    /** Metadata overrides (set a member to undefined to drop it). */
    metadata: {} as Record<string, unknown>,
    /** The transactions every account has (newest first) and the page size the server uses. */
    transactions: [] as Transaction[],
    defaultPageSize: 100,
    /** Token endpoint response overrides (e.g. drop grant_id). */
    tokenResponse: undefined as undefined | ((body: Record<string, unknown>) => unknown),
  }

  async function serverKey() {
    if (!signing) {
      const { privateKey, publicKey } = await generateKeyPair('ES256')
      signing = {
        privateKey,
        publicJwk: { ...(await exportJWK(publicKey)), kid: 'srv-1', alg: 'ES256', use: 'sig' },
      }
    }
    return signing
  }

  function metadata() {
    const m: Record<string, unknown> = {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      pushed_authorization_request_endpoint: `${ISSUER}/par`,
      require_pushed_authorization_requests: true,
      registration_endpoint: `${ISSUER}/register`,
      revocation_endpoint: `${ISSUER}/revoke`,
      introspection_endpoint: `${ISSUER}/introspect`,
      jwks_uri: `${ISSUER}/jwks`,
      grant_management_endpoint: `${ISSUER}/grants`,
      grant_management_actions_supported: ['query', 'revoke'],
      consentry_resource: RESOURCE,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['ES256', 'PS256', 'EdDSA'],
      dpop_signing_alg_values_supported: ['ES256', 'PS256', 'EdDSA'],
      authorization_details_types_supported: ['transaction_history'],
      authorization_response_iss_parameter_supported: true,
    }
    for (const [k, v] of Object.entries(config.metadata)) {
      if (v === undefined) delete m[k]
      else m[k] = v
    }
    return m
  }

  async function record(request: Request): Promise<RecordedRequest> {
    const url = new URL(request.url)
    const headers: Record<string, string> = {}
    request.headers.forEach((v, k) => {
      headers[k] = v
    })
    const rec: RecordedRequest = { method: request.method, path: url.pathname, url: request.url, headers }
    const type = headers['content-type'] ?? ''
    if (type.startsWith('application/x-www-form-urlencoded')) {
      rec.form = Object.fromEntries(new URLSearchParams(await request.clone().text()))
    } else if (type.startsWith('application/json')) {
      rec.json = await request.clone().json()
    }
    if (headers.dpop) {
      const [, payload] = headers.dpop.split('.')
      rec.dpop = JSON.parse(Buffer.from(payload as string, 'base64url').toString())
    }
    requests.push(rec)
    return rec
  }

  const oauthError = (status: number, error: string, extra: Record<string, string> = {}) =>
    HttpResponse.json(
      { error },
      { status, headers: { 'dpop-nonce': nonce, 'cache-control': 'no-store', ...extra } },
    )

  async function authenticateClient(form: Record<string, string>): Promise<string | undefined> {
    const clientId = form.client_id
    const jwk = clientId ? clients.get(clientId) : undefined
    if (
      !jwk ||
      form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' ||
      !form.client_assertion
    )
      return undefined
    try {
      const alg = decodeProtectedHeader(form.client_assertion).alg as string
      if (!['ES256', 'PS256', 'EdDSA'].includes(alg)) return undefined
      const key = await importJWK(jwk, alg)
      await jwtVerify(form.client_assertion, key, {
        issuer: clientId,
        subject: clientId,
        audience: ISSUER,
        algorithms: [alg],
      })
      return clientId
    } catch {
      return undefined
    }
  }

  /** Verify a DPoP proof; returns its jkt, or an error response. */
  async function checkProof(
    request: Request,
    accessToken?: string,
  ): Promise<{ jkt: string } | { error: 'invalid_dpop_proof' | 'use_dpop_nonce' }> {
    const proof = request.headers.get('dpop')
    if (!proof) return { error: 'invalid_dpop_proof' }
    try {
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256', 'PS256', 'EdDSA'],
      })
      const url = new URL(request.url)
      if (payload.htm !== request.method || payload.htu !== `${url.origin}${url.pathname}`)
        return { error: 'invalid_dpop_proof' }
      if (accessToken) {
        const ath = base64url(
          new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))),
        )
        if (payload.ath !== ath) return { error: 'invalid_dpop_proof' }
      }
      if (payload.nonce !== nonce) return { error: 'use_dpop_nonce' }
      return { jkt: await calculateJwkThumbprint(protectedHeader.jwk as JWK) }
    } catch {
      return { error: 'invalid_dpop_proof' }
    }
  }

  async function issueAccessToken(clientId: string, jkt: string, grant?: GrantRecord, scope?: string) {
    const { privateKey } = await serverKey()
    const now = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({
      client_id: clientId,
      ...(grant ? { grant_id: grant.id, authorization_details: grant.details } : { scope }),
      cnf: { jkt },
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'srv-1' })
      .setIssuer(ISSUER)
      .setSubject(grant ? 'user_1' : clientId)
      .setAudience(RESOURCE)
      .setIssuedAt(now)
      .setExpirationTime(now + config.accessTokenTtl)
      .setJti(random('jti-'))
      .sign(privateKey)
    accessTokens.set(token, {
      ...(grant ? { grantId: grant.id } : {}),
      jkt,
      valid: true,
      ...(scope ? { scope } : {}),
    })
    secrets.add(token)
    return token
  }

  function issueRefreshToken(grantId: string, jkt: string) {
    const rt = random('rt-')
    refreshTokens.set(rt, { grantId, used: false, jkt })
    secrets.add(rt)
    return rt
  }

  function tokenBody(body: Record<string, unknown>) {
    const out = config.tokenResponse ? config.tokenResponse(body) : body
    return HttpResponse.json(out as Record<string, unknown>, {
      headers: { 'dpop-nonce': nonce, 'cache-control': 'no-store' },
    })
  }

  /** Check the resource request's token + proof; returns the grant or a 401 response. */
  async function authorizeResource(
    request: Request,
    scope?: string,
  ): Promise<GrantRecord | { clientId: string } | Response> {
    const auth = request.headers.get('authorization') ?? ''
    const challenge = (error: string) =>
      new HttpResponse(null, {
        status: 401,
        headers: {
          'www-authenticate': `DPoP error="${error}", algs="ES256 PS256 EdDSA"`,
          'dpop-nonce': nonce,
        },
      })
    if (!auth.startsWith('DPoP ')) return challenge('invalid_token')
    const token = auth.slice(5)
    const info = accessTokens.get(token)
    const proof = await checkProof(request, token)
    if ('error' in proof) return challenge(proof.error)
    if (!info || !info.valid || info.jkt !== proof.jkt) return challenge('invalid_token')
    if (scope) {
      if (!info.scope?.split(' ').includes(scope)) return challenge('insufficient_scope')
      return { clientId: clientIdOfToken(token) }
    }
    const grant = grants.get(info.grantId as string)
    if (!grant || grant.status !== 'active') return challenge('invalid_token')
    return grant
  }

  const clientIdOfToken = (token: string) =>
    JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).client_id as string

  const withNonce = (init: ResponseInit = {}) => ({
    ...init,
    headers: { 'dpop-nonce': nonce, ...(init.headers ?? {}) },
  })

  const handlers = [
    http.get(`${ISSUER}/.well-known/oauth-authorization-server`, async ({ request }) => {
      await record(request)
      return HttpResponse.json(metadata())
    }),
    http.get(`${ISSUER}/jwks`, async ({ request }) => {
      await record(request)
      return HttpResponse.json({ keys: [(await serverKey()).publicJwk] })
    }),
    http.post(`${ISSUER}/register`, async ({ request }) => {
      const rec = await record(request)
      if (rec.headers.authorization !== 'Bearer iat-good')
        return HttpResponse.json({ error: 'invalid_token' }, { status: 401 })
      const body = rec.json as { jwks: { keys: JWK[] }; client_name: string; redirect_uris: string[] }
      const clientId = random('cl_')
      clients.set(clientId, body.jwks.keys[0] as JWK)
      return HttpResponse.json(
        {
          ...body,
          client_id: clientId,
          client_id_issued_at: Math.floor(Date.now() / 1000),
          token_endpoint_auth_method: 'private_key_jwt',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          dpop_bound_access_tokens: true,
        },
        { status: 201 },
      )
    }),
    http.post(`${ISSUER}/par`, async ({ request }) => {
      const rec = await record(request)
      const form = rec.form ?? {}
      const clientId = await authenticateClient(form)
      if (!clientId) return oauthError(401, 'invalid_client')
      if (
        form.response_type !== 'code' ||
        form.code_challenge_method !== 'S256' ||
        !form.code_challenge ||
        !form.dpop_jkt
      )
        return oauthError(400, 'invalid_request')
      if (form.redirect_uri !== REDIRECT_URI) return oauthError(400, 'invalid_redirect_uri')
      const requestUri = random('urn:ietf:params:oauth:request_uri:')
      pars.set(requestUri, { clientId, params: form })
      return HttpResponse.json({ request_uri: requestUri, expires_in: 60 }, { status: 201 })
    }),
    http.post(`${ISSUER}/token`, async ({ request }) => {
      const rec = await record(request)
      const form = rec.form ?? {}
      const clientId = await authenticateClient(form)
      if (!clientId) return oauthError(401, 'invalid_client')
      const proof = await checkProof(request)
      if ('error' in proof) return oauthError(400, proof.error)
      if (form.grant_type === 'authorization_code') {
        const entry = form.code ? codes.get(form.code) : undefined
        if (!entry || entry.used || entry.par.clientId !== clientId) return oauthError(400, 'invalid_grant')
        entry.used = true
        const challenge = base64url(
          new Uint8Array(
            await crypto.subtle.digest('SHA-256', new TextEncoder().encode(form.code_verifier ?? '')),
          ),
        )
        if (challenge !== entry.par.params.code_challenge) return oauthError(400, 'invalid_grant')
        if (form.redirect_uri !== entry.par.params.redirect_uri) return oauthError(400, 'invalid_grant')
        if (proof.jkt !== entry.par.params.dpop_jkt) return oauthError(400, 'invalid_dpop_proof')
        const grant = grants.get(entry.grantId) as GrantRecord
        return tokenBody({
          access_token: await issueAccessToken(clientId, proof.jkt, grant),
          token_type: 'DPoP',
          expires_in: config.accessTokenTtl,
          refresh_token: issueRefreshToken(grant.id, proof.jkt),
          grant_id: grant.id,
          authorization_details: grant.details,
        })
      }
      if (form.grant_type === 'refresh_token') {
        const entry = form.refresh_token ? refreshTokens.get(form.refresh_token) : undefined
        if (!entry) return oauthError(400, 'invalid_grant')
        const grant = grants.get(entry.grantId) as GrantRecord
        if (grant.clientId !== clientId) return oauthError(400, 'invalid_grant')
        if (entry.used) {
          grant.status = 'revoked'
          return oauthError(400, 'invalid_grant')
        }
        if (grant.status !== 'active') return oauthError(400, 'invalid_grant')
        if (entry.jkt !== proof.jkt) return oauthError(400, 'invalid_dpop_proof')
        entry.used = true
        return tokenBody({
          access_token: await issueAccessToken(clientId, proof.jkt, grant),
          token_type: 'DPoP',
          expires_in: config.accessTokenTtl,
          refresh_token: issueRefreshToken(grant.id, proof.jkt),
          grant_id: grant.id,
          authorization_details: grant.details,
        })
      }
      if (form.grant_type === 'client_credentials') {
        if (form.scope !== 'grant_management_query grant_management_revoke')
          return oauthError(400, 'invalid_scope')
        return HttpResponse.json(
          {
            access_token: await issueAccessToken(clientId, proof.jkt, undefined, form.scope),
            token_type: 'DPoP',
            expires_in: config.accessTokenTtl,
            scope: form.scope,
          },
          withNonce(),
        )
      }
      return oauthError(400, 'unsupported_grant_type')
    }),
    http.post(`${ISSUER}/revoke`, async ({ request }) => {
      const rec = await record(request)
      const clientId = await authenticateClient(rec.form ?? {})
      if (!clientId) return oauthError(401, 'invalid_client')
      const entry = refreshTokens.get(rec.form?.token ?? '')
      if (entry) {
        const grant = grants.get(entry.grantId)
        if (grant && grant.clientId === clientId) grant.status = 'revoked'
      }
      return new HttpResponse(null, { status: 200 })
    }),
    http.get(`${ISSUER}/grants/:id`, async ({ request, params }) => {
      await record(request)
      const who = await authorizeResource(request, 'grant_management_query')
      if (who instanceof Response) return who
      const grant = grants.get(params.id as string)
      if (!grant || grant.clientId !== (who as { clientId: string }).clientId)
        return HttpResponse.json(
          { type: 'urn:consentry:problem:not_found', title: 'Not found', status: 404, code: 'not_found' },
          withNonce({ status: 404 }),
        )
      return HttpResponse.json(
        {
          grant_id: grant.id,
          status: grant.status,
          client_id: grant.clientId,
          authorization_details: grant.details,
          created_at: new Date(grant.createdAt).toISOString(),
          expires_at: new Date(grant.expiresAt).toISOString(),
        },
        withNonce(),
      )
    }),
    http.delete(`${ISSUER}/grants/:id`, async ({ request, params }) => {
      await record(request)
      const who = await authorizeResource(request, 'grant_management_revoke')
      if (who instanceof Response) return who
      const grant = grants.get(params.id as string)
      if (!grant || grant.clientId !== (who as { clientId: string }).clientId)
        return new HttpResponse(null, withNonce({ status: 404 }))
      grant.status = 'revoked'
      return new HttpResponse(null, withNonce({ status: 204 }))
    }),
    http.get(`${RESOURCE}/accounts`, async ({ request }) => {
      await record(request)
      const grant = await authorizeResource(request)
      if (grant instanceof Response) return grant
      const accounts = ((grant as GrantRecord).details[0]?.accounts as string[]).map((id) => ({
        id,
        name: `Account ${id}`,
        type: 'wallet',
        currency: 'EUR',
      }))
      return HttpResponse.json({ data: accounts }, withNonce())
    }),
    http.get(`${RESOURCE}/accounts/:id/transactions`, async ({ request, params }) => {
      await record(request)
      const grant = await authorizeResource(request)
      if (grant instanceof Response) return grant
      const accounts = (grant as GrantRecord).details[0]?.accounts as string[]
      if (!accounts.includes(params.id as string))
        return HttpResponse.json(
          {
            type: 'urn:consentry:problem:outside_consent',
            title: 'Outside the consent',
            status: 403,
            code: 'outside_consent',
          },
          withNonce({ status: 403, headers: { 'content-type': 'application/problem+json' } }),
        )
      const url = new URL(request.url)
      const limit = Number(url.searchParams.get('limit') ?? config.defaultPageSize)
      const start = Number(url.searchParams.get('cursor')?.replace('c', '') ?? '0')
      const data = config.transactions.slice(start, start + limit)
      const next = start + limit < config.transactions.length ? `c${start + limit}` : undefined
      return HttpResponse.json(
        { data, period: { from: '2025-01-01', to: '2025-03-31' }, ...(next ? { next_cursor: next } : {}) },
        withNonce(),
      )
    }),
  ]

  const server = setupServer(...handlers)

  return {
    server,
    requests,
    config,
    grants,
    secrets,
    accessTokens,
    refreshTokens,
    /** The nonce the server currently wants. */
    get nonce() {
      return nonce
    },
    /** Start requiring a new nonce (old proofs get use_dpop_nonce). */
    rotateNonce() {
      nonce = random('n-')
      return nonce
    },
    registerClientKey(clientId: string, publicJwk: JWK) {
      clients.set(clientId, publicJwk)
    },
    serverKey,
    /** Simulate the person logging in and consenting: returns the callback URL. */
    approve(
      authorizeUrl: string,
      options: { accounts?: string[]; expiresIn?: number; fields?: string[] } = {},
    ) {
      const url = new URL(authorizeUrl)
      const par = pars.get(url.searchParams.get('request_uri') ?? '')
      if (!par) throw new Error('unknown request_uri')
      const asked = JSON.parse(par.params.authorization_details as string) as Record<string, unknown>[]
      const grantId = random('gr_')
      const now = Date.now()
      const details = asked.map((d) => ({
        ...d,
        accounts: options.accounts ?? (d.accounts as string[] | undefined) ?? ['acc_1'],
        ...(options.fields ? { fields: options.fields } : {}),
        ...(options.expiresIn ? { expires_in: options.expiresIn } : {}),
      }))
      const expiresIn = (details[0]?.expires_in as number) ?? 90 * 86400
      grants.set(grantId, {
        id: grantId,
        clientId: par.clientId,
        status: 'active',
        details,
        createdAt: now,
        expiresAt: now + expiresIn * 1000,
      })
      const code = random('code-')
      secrets.add(code)
      codes.set(code, { par, grantId, used: false })
      const callback = new URL(par.params.redirect_uri as string)
      callback.searchParams.set('code', code)
      if (par.params.state) callback.searchParams.set('state', par.params.state)
      callback.searchParams.set('iss', ISSUER)
      return callback.href
    },
    /** Simulate the person declining. */
    deny(authorizeUrl: string) {
      const url = new URL(authorizeUrl)
      const par = pars.get(url.searchParams.get('request_uri') ?? '')
      if (!par) throw new Error('unknown request_uri')
      const callback = new URL(par.params.redirect_uri as string)
      callback.searchParams.set('error', 'access_denied')
      if (par.params.state) callback.searchParams.set('state', par.params.state)
      callback.searchParams.set('iss', ISSUER)
      return callback.href
    },
    /** Sign a Security Event Token with the server key. */
    async signEvent(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
      const { privateKey } = await serverKey()
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'secevent+jwt', kid: 'srv-1', ...header })
        .setIssuedAt()
        .setJti(random('set-'))
        .sign(privateKey)
    },
    of(path: string, method?: string) {
      return requests.filter((r) => r.path === path && (!method || r.method === method))
    },
  }
}

export type MockServer = ReturnType<typeof createMockServer>

export function makeTransactions(n: number): Transaction[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `tx_${String(i).padStart(4, '0')}`,
    account_id: 'acc_1',
    booked_at: `2025-03-${String(28 - (i % 28)).padStart(2, '0')}`,
    amount: `-${i + 1}.00`,
    currency: 'EUR',
  }))
}
