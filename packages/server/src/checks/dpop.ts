import type { KeyObject } from 'node:crypto'
import { ALLOWED_ALGS } from '@consentry/core'
import type { JWK } from 'jose'
import type { Context } from '../context.ts'
import { OAuthError, ResourceAuthError } from '../errors.ts'
import { publicKeyFromJwk, verifyJwt } from '../tokens/jws.ts'
import { hmac } from '../tokens/random.ts'
import { jwkThumbprint, sha256 } from '../util/hash.ts'

/** Nonces rotate every 5 minutes; the previous one stays valid so in-flight retries succeed. */
const NONCE_WINDOW_MS = 5 * 60_000
/** Accepted clock difference for a proof's `iat`. */
const IAT_SKEW_S = 60
const PROOF_CLAIMS = ['iat', 'jti', 'htm', 'htu'] as const

/** Nonces already computed, per nonce secret and window (a handful of entries at most). */
const nonces = new WeakMap<object, Map<number, Promise<string>>>()

/** A server nonce (RFC 9449 §8), stateless: an HMAC over the time window with a secret every instance shares. */
export function currentNonce(ctx: Context, offset = 0): Promise<string> {
  const window = Math.floor(ctx.now() / NONCE_WINDOW_MS) + offset
  const byWindow = nonces.get(ctx.secrets.nonce) ?? new Map<number, Promise<string>>()
  nonces.set(ctx.secrets.nonce, byWindow)
  let nonce = byWindow.get(window)
  if (!nonce) {
    for (const w of byWindow.keys()) if (w < window - 2) byWindow.delete(w)
    nonce = hmac(ctx.secrets.nonce, `dpop-nonce:${window}`).then((mac) => mac.slice(0, 32))
    byWindow.set(window, nonce)
  }
  return nonce
}

/**
 * Public keys from DPoP headers, imported once: a recipient signs every request with the same key, and
 * importing it is the costliest step of a proof check. Cached per server (`ctx.dpopKeys`, a bounded
 * LRU) and keyed by algorithm and RFC 7638 thumbprint (which commits to the key material), so a cached
 * key is only ever used for that exact key.
 */
function proofKey(ctx: Context, jwk: JWK, jkt: string): KeyObject {
  // The thumbprint covers every member the key is built from (RFC 7638 §3.2), so one entry per key.
  let key = ctx.dpopKeys.get(jkt)
  if (!key) {
    key = publicKeyFromJwk(jwk as Record<string, unknown>) // throws on a malformed key: nothing cached
    ctx.dpopKeys.set(jkt, key)
  }
  return key
}

/**
 * The key a proof header names, with its thumbprint. A header a recipient sent before is the same
 * frozen object (`ctx.dpopHeaders`, tokens/jws.ts), so its key is found by identity, without hashing.
 */
const headerKeys = new WeakMap<object, { jwk: JWK; jkt: string; key: KeyObject }>()

function proofHeaderKey(
  ctx: Context,
  header: Record<string, unknown>,
): { jwk: JWK; jkt: string; key: KeyObject } | null {
  let known = headerKeys.get(header)
  if (!known) {
    const jwk = header.jwk as JWK | undefined
    if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk) || 'd' in jwk || 'k' in jwk) return null
    const jkt = jwkThumbprint(jwk as Record<string, unknown>)
    known = { jwk, jkt, key: proofKey(ctx, jwk, jkt) }
    headerKeys.set(header, known)
  }
  return known
}

async function nonceIsValid(ctx: Context, nonce: unknown): Promise<boolean> {
  if (typeof nonce !== 'string') return false
  return nonce === (await currentNonce(ctx)) || nonce === (await currentNonce(ctx, -1))
}

export interface DpopOptions {
  /** The public URL of the endpoint (no query or fragment). */
  htu: string
  htm: string
  /** At a resource: the access token the proof must be bound to (`ath`). */
  accessToken?: string
  /** Token endpoint (OAuth error bodies) or resource (`WWW-Authenticate`). */
  at: 'token' | 'resource'
  /**
   * Records the proof's replay key (default `ctx.store.recordJti`); `false` = seen before. The
   * resource passes one that also loads the grant in the same store round trip.
   */
  recordJti?: (key: string, expiresAt: number) => Promise<boolean>
}

export interface DpopProof {
  jkt: string
  jwk: JWK
}

/**
 * check_dpop: verifies a DPoP proof (RFC 9449 §4.3): exactly one header, `typ`, algorithm, a public
 * embedded key, signature, `htm`, `htu`, `iat` freshness, `ath`, a valid server nonce, and a `jti`
 * never seen before.
 */
export async function checkDpop(ctx: Context, request: Request, opts: DpopOptions): Promise<DpopProof> {
  // No DPoP-Nonce here: the router adds a fresh one to every response of a DPoP endpoint.
  const fail = (code: 'invalid_dpop_proof' | 'use_dpop_nonce', why: string) =>
    opts.at === 'token' ? new OAuthError(code, why, 400) : new ResourceAuthError(code, why, 401)
  const header = request.headers.get('dpop')
  if (!header) throw fail('invalid_dpop_proof', 'a DPoP proof is required')
  if (header.includes(',')) throw fail('invalid_dpop_proof', 'exactly one DPoP proof is allowed')

  let jwk: JWK | undefined
  let jkt = ''
  let payload: Record<string, unknown> | undefined
  try {
    // node:crypto verification (tokens/jws.ts): typ, alg allow-list, signature by the embedded
    // public key (the header parsed and its key imported once; the maths in the thread pool),
    // required claims.
    payload = (
      await verifyJwt(
        header,
        (h) => {
          const known = proofHeaderKey(ctx, h)
          if (!known) return null
          jkt = known.jkt
          jwk = known.jwk
          return known.key
        },
        {
          typ: 'dpop+jwt',
          algorithms: ALLOWED_ALGS,
          requiredClaims: PROOF_CLAIMS,
          now: ctx.now(),
          headers: ctx.dpopHeaders,
        },
      )
    )?.payload
  } catch {
    payload = undefined
  }
  if (!payload || !jwk)
    throw fail('invalid_dpop_proof', 'the DPoP proof is malformed or its signature is invalid')
  if (payload.htm !== opts.htm) throw fail('invalid_dpop_proof', 'htm does not match the request method')
  const expected = normalizedHtu(opts.htu)
  // The same text as the endpoint's own URL needs no parsing: it normalises to the same URI.
  const htu = payload.htu
  if (typeof htu !== 'string' || expected === null || (htu !== opts.htu && normalizeHtu(htu) !== expected))
    throw fail('invalid_dpop_proof', 'htu does not match the request URL')
  const nowS = ctx.now() / 1000
  if (typeof payload.iat !== 'number' || Math.abs(nowS - payload.iat) > IAT_SKEW_S)
    throw fail('invalid_dpop_proof', 'the DPoP proof is too old or from the future')
  if (typeof payload.jti !== 'string' || payload.jti.length < 8 || payload.jti.length > 256)
    throw fail('invalid_dpop_proof', 'jti is invalid')
  if (opts.accessToken !== undefined) {
    const ath = sha256(opts.accessToken)
    if (payload.ath !== ath) throw fail('invalid_dpop_proof', 'ath does not match the access token')
  }
  if (!(await nonceIsValid(ctx, payload.nonce)))
    throw fail('use_dpop_nonce', 'use the server-provided DPoP nonce')

  const record = opts.recordJti ?? ((key: string, exp: number) => ctx.store.recordJti(key, exp))
  const first = await record(`dpop:${jkt}:${payload.jti}`, (payload.iat + IAT_SKEW_S * 2) * 1000)
  if (!first) throw fail('invalid_dpop_proof', 'the DPoP proof was already used')
  return { jkt, jwk }
}

/** The server's own endpoint URLs, normalised once each (bounded: the paths hold account ids). */
const ownHtus = new Map<string, string | null>()
const MAX_OWN_HTUS = 1000

function normalizedHtu(url: string): string | null {
  let normal = ownHtus.get(url)
  if (normal === undefined) {
    normal = normalizeHtu(url)
    if (ownHtus.size >= MAX_OWN_HTUS) ownHtus.clear()
    ownHtus.set(url, normal)
  }
  return normal
}

/** RFC 3986 §2.3 unreserved characters: a percent-encoded one means the same as the character itself. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/**
 * The URI an `htu` is compared by (RFC 9449 §4.3 step 9; RFC 3986 §6.2.2 syntax-based and §6.2.3
 * scheme-based normalisation): scheme and host are case-insensitive (the URL parser lowercases them),
 * a default port is dropped, dot segments are resolved, percent-escapes get upper-case hex and those
 * of unreserved characters are decoded. The path is otherwise compared exactly, case included:
 * `/API/ACCOUNTS` is another resource than `/api/accounts`. Query and fragment are ignored. Anything
 * but an http(s) URL gives `null`.
 */
export function normalizeHtu(value: string): string | null {
  let u: URL
  try {
    u = new URL(value)
  } catch {
    return null
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null
  const path = u.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
  })
  return `${u.protocol}//${u.host}${path}`
}
