/**
 * Hand-built client assertions, DPoP proofs and raw HTTP requests for the rejection tests: every
 * claim and header can be set (or broken) on purpose, which oauth4webapi rightly refuses to do.
 */
import { request as httpRequest } from 'node:http'
import {
  base64url,
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  SignJWT,
} from 'jose'
import type { Recipient } from './recipient.ts'

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

const nowS = () => Math.floor(Date.now() / 1000)
const b64json = (v: unknown) => base64url.encode(JSON.stringify(v))
export const randomId = () => base64url.encode(crypto.getRandomValues(new Uint8Array(16)))

export interface AssertionOptions {
  aud?: string | string[]
  jti?: string
  /** `none` builds an unsigned JWT. */
  alg?: string
  /** Absolute `exp` (epoch seconds). Default: now + 60. */
  exp?: number
  iat?: number
  iss?: string
  sub?: string
  /** Sign with this key instead of the recipient's own. */
  key?: CryptoKey | Uint8Array
  kid?: string
  /** Seconds added to the local clock (a server running ahead). */
  skew?: number
}

/** A `private_key_jwt` client assertion (RFC 7523) for `r`, with any claim overridden. */
export async function clientAssertion(
  r: Pick<Recipient, 'as' | 'client' | 'privateKey'>,
  o: AssertionOptions = {},
): Promise<string> {
  const now = nowS() + (o.skew ?? 0)
  const payload = {
    iss: o.iss ?? r.client.client_id,
    sub: o.sub ?? r.client.client_id,
    aud: o.aud ?? r.as.issuer,
    jti: o.jti ?? randomId(),
    iat: o.iat ?? now,
    exp: o.exp ?? now + 60,
  }
  const alg = o.alg ?? (r.client.token_endpoint_auth_signing_alg as string | undefined) ?? 'ES256'
  if (alg === 'none') return `${b64json({ alg: 'none' })}.${b64json(payload)}.`
  return new SignJWT(payload).setProtectedHeader({ alg, kid: o.kid ?? 'k1' }).sign(o.key ?? r.privateKey)
}

/** The form fields of client authentication. */
export async function clientAuth(
  r: Pick<Recipient, 'as' | 'client' | 'privateKey'>,
  o: AssertionOptions = {},
): Promise<Record<string, string>> {
  return {
    client_id: r.client.client_id,
    client_assertion_type: JWT_BEARER,
    client_assertion: await clientAssertion(r, o),
  }
}

export interface ProofOptions {
  htm: string
  htu: string
  nonce?: string
  /** The access token to bind (`ath` is computed), or give `ath` directly. */
  accessToken?: string
  ath?: string
  iat?: number
  jti?: string
  typ?: string
  /** `none` → unsigned; `HS256` → HMAC with a random secret; otherwise signed with the key pair. */
  alg?: string
  /** Replace the header `jwk` (e.g. to smuggle private key material). */
  jwk?: JWK
  /** Extra payload claims. */
  claims?: Record<string, unknown>
}

export async function ath(accessToken: string): Promise<string> {
  return base64url.encode(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))),
  )
}

const algOf = (key: CryptoKey): string => {
  const a = key.algorithm as { name: string; namedCurve?: string }
  if (a.name === 'ECDSA') return a.namedCurve === 'P-384' ? 'ES384' : 'ES256'
  if (a.name === 'RSA-PSS') return 'PS256'
  if (a.name === 'Ed25519') return 'EdDSA'
  return 'RS256'
}

const exported = new WeakMap<CryptoKey, Promise<JWK>>()
/** A public key's JWK, exported once per key (the fuzzer signs thousands of proofs with one key). */
function exportedJwk(key: CryptoKey): Promise<JWK> {
  let jwk = exported.get(key)
  if (!jwk) {
    jwk = exportJWK(key)
    exported.set(key, jwk)
  }
  return jwk
}

/** A DPoP proof (RFC 9449 §4.2) signed by `keys`, with any header or claim overridden. */
export async function dpopProof(keys: CryptoKeyPair, o: ProofOptions): Promise<string> {
  const publicJwk = await exportedJwk(keys.publicKey)
  const jwk = o.jwk ?? {
    kty: publicJwk.kty,
    crv: publicJwk.crv,
    x: publicJwk.x,
    y: publicJwk.y,
    n: publicJwk.n,
    e: publicJwk.e,
  }
  for (const k of Object.keys(jwk) as Array<keyof JWK>) if (jwk[k] === undefined) delete jwk[k]
  const payload: Record<string, unknown> = {
    htm: o.htm,
    htu: o.htu,
    iat: o.iat ?? nowS(),
    jti: o.jti ?? randomId(),
    ...(o.nonce !== undefined ? { nonce: o.nonce } : {}),
    ...(o.ath !== undefined
      ? { ath: o.ath }
      : o.accessToken !== undefined
        ? { ath: await ath(o.accessToken) }
        : {}),
    ...o.claims,
  }
  const alg = o.alg ?? algOf(keys.privateKey)
  const header = { typ: o.typ ?? 'dpop+jwt', alg, jwk }
  if (alg === 'none') return `${b64json(header)}.${b64json(payload)}.`
  const key = alg.startsWith('HS') ? crypto.getRandomValues(new Uint8Array(32)) : keys.privateKey
  return new SignJWT(payload).setProtectedHeader(header).sign(key)
}

/** POST a form; returns the response and its parsed JSON body (or null). */
export async function postForm(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  })
  const text = await res.text()
  let body: Record<string, unknown> | null = null
  try {
    body = JSON.parse(text)
  } catch {}
  return { res, status: res.status, body, text }
}

/**
 * Get a current DPoP nonce: a token request without a proof fails with `invalid_dpop_proof`, and every
 * DPoP failure carries a `DPoP-Nonce` header (the nonce is stateless, so it is good for the resource too).
 */
export async function fetchNonce(
  r: Pick<Recipient, 'as' | 'client' | 'privateKey'>,
  o: { skew?: number } = {},
): Promise<string> {
  const { res, body } = await postForm(r.as.token_endpoint!, {
    grant_type: 'client_credentials',
    scope: 'grant_management_query',
    ...(await clientAuth(r, { skew: o.skew ?? 0 })),
  })
  const nonce = res.headers.get('dpop-nonce')
  if (!nonce) throw new Error(`no DPoP-Nonce in ${res.status} ${JSON.stringify(body)}`)
  return nonce
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/**
 * One request over node:http with no client-side niceties: any method token, latin-1 bytes in header
 * values (invalid UTF-8 on the wire), any body bytes. Connection errors (the server hung up on a
 * request it could not parse) resolve as status 0.
 */
export function rawRequest(
  base: string,
  o: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<RawResponse> {
  const u = new URL(base)
  return new Promise((resolve) => {
    let req: ReturnType<typeof httpRequest>
    try {
      req = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          method: o.method,
          path: o.path,
          headers: { connection: 'close', ...o.headers },
          insecureHTTPParser: false,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          )
          res.on('error', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          )
        },
      )
    } catch (e) {
      throw new Error(`cannot build request ${o.method} ${o.path}: ${(e as Error).message}`)
    }
    req.on('error', () => resolve({ status: 0, headers: {}, body: Buffer.alloc(0) }))
    if (o.body !== undefined) req.end(o.body)
    else req.end()
  })
}

/** Status and OAuth `error` of a parsed response, for compact assertions. */
export const gm = (o: { status: number; body: Record<string, unknown> | null }) => ({
  status: o.status,
  error: o.body?.error,
})

/** The `error` of a `WWW-Authenticate` challenge. */
export const challenge = (res: Response) =>
  /error="([^"]+)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1]

/** A fresh ES256 DPoP key pair and its RFC 7638 thumbprint. */
export async function dpopKeys() {
  const keys = (await generateKeyPair('ES256', { extractable: true })) as CryptoKeyPair
  return { keys, jkt: await calculateJwkThumbprint(await exportJWK(keys.publicKey)) }
}
