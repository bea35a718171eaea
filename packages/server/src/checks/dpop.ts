import { ALLOWED_ALGS } from '@consentry/core'
import {
  base64url,
  type CryptoKey,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose'
import type { Context } from '../context.ts'
import { OAuthError, ResourceAuthError } from '../errors.ts'
import { hmac } from '../tokens/random.ts'

/** Nonces rotate every 5 minutes; the previous one stays valid so in-flight retries succeed. */
const NONCE_WINDOW_MS = 5 * 60_000
/** Accepted clock difference for a proof's `iat`. */
const IAT_SKEW_S = 60

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
 * importing it is the costliest step of a proof check. Keyed by algorithm and RFC 7638 thumbprint
 * (which commits to the key material), so a cached key is only ever used for that exact key.
 */
const importedKeys = new Map<string, Promise<CryptoKey>>()
const MAX_IMPORTED_KEYS = 1000

function proofKey(jwk: JWK, alg: string, jkt: string): Promise<CryptoKey> {
  const id = `${alg}:${jkt}`
  let key = importedKeys.get(id)
  if (!key) {
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.delete(importedKeys.keys().next().value!)
    key = importJWK(jwk, alg) as Promise<CryptoKey>
    key.catch(() => importedKeys.delete(id))
    importedKeys.set(id, key)
  }
  return key
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
  const fail = async (code: 'invalid_dpop_proof' | 'use_dpop_nonce', why: string) => {
    const headers = { 'dpop-nonce': await currentNonce(ctx) }
    return opts.at === 'token'
      ? new OAuthError(code, why, 400, headers)
      : new ResourceAuthError(code, why, 401, headers)
  }
  const header = request.headers.get('dpop')
  if (!header) throw await fail('invalid_dpop_proof', 'a DPoP proof is required')
  if (header.includes(',')) throw await fail('invalid_dpop_proof', 'exactly one DPoP proof is allowed')

  let jwk: JWK
  let jkt: string
  let payload: Record<string, unknown>
  try {
    const h = decodeProtectedHeader(header)
    if (h.typ !== 'dpop+jwt') throw new Error('typ')
    if (!ALLOWED_ALGS.includes(h.alg as never)) throw new Error('alg')
    if (!h.jwk || typeof h.jwk !== 'object' || 'd' in h.jwk || 'k' in h.jwk) throw new Error('jwk')
    jkt = await calculateJwkThumbprint(h.jwk)
    ;({ payload } = await jwtVerify(header, await proofKey(h.jwk, h.alg!, jkt), {
      typ: 'dpop+jwt',
      algorithms: [...ALLOWED_ALGS],
      requiredClaims: ['iat', 'jti', 'htm', 'htu'],
      currentDate: new Date(ctx.now()),
    }))
    jwk = h.jwk
  } catch {
    throw await fail('invalid_dpop_proof', 'the DPoP proof is malformed or its signature is invalid')
  }
  if (payload.htm !== opts.htm)
    throw await fail('invalid_dpop_proof', 'htm does not match the request method')
  if (typeof payload.htu !== 'string' || normalizeHtu(payload.htu) !== normalizeHtu(opts.htu))
    throw await fail('invalid_dpop_proof', 'htu does not match the request URL')
  const nowS = ctx.now() / 1000
  if (typeof payload.iat !== 'number' || Math.abs(nowS - payload.iat) > IAT_SKEW_S)
    throw await fail('invalid_dpop_proof', 'the DPoP proof is too old or from the future')
  if (typeof payload.jti !== 'string' || payload.jti.length < 8 || payload.jti.length > 256)
    throw await fail('invalid_dpop_proof', 'jti is invalid')
  if (opts.accessToken !== undefined) {
    const ath = base64url.encode(
      new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(opts.accessToken))),
    )
    if (payload.ath !== ath) throw await fail('invalid_dpop_proof', 'ath does not match the access token')
  }
  if (!(await nonceIsValid(ctx, payload.nonce)))
    throw await fail('use_dpop_nonce', 'use the server-provided DPoP nonce')

  const first = await ctx.store.recordJti(`dpop:${jkt}:${payload.jti}`, (payload.iat + IAT_SKEW_S * 2) * 1000)
  if (!first) throw await fail('invalid_dpop_proof', 'the DPoP proof was already used')
  return { jkt, jwk }
}

function normalizeHtu(value: string): string {
  try {
    const u = new URL(value)
    return `${u.protocol}//${u.host}${u.pathname}`.toLowerCase()
  } catch {
    return ''
  }
}
