import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto'

/**
 * The small hashes and MACs of the request path (DPoP `ath` and JWK thumbprints, nonces, cursors,
 * cookies, pairwise subjects), computed synchronously with `node:crypto`. Web Crypto's `digest` and
 * `sign` are asynchronous and, on Node, hop to the thread pool and back for a few dozen bytes: the
 * hand-off, not the maths, cost about a quarter of a read's CPU. `node:crypto` is available wherever
 * the server runs: Node, Bun, Deno, and Cloudflare Workers with `nodejs_compat` (the server already
 * imports `node:net`).
 *
 * @example
 * ```ts
 * sha256('token', 'base64url') // the `ath` of a DPoP proof (RFC 9449 §4.2)
 * const key = hmacSecret(secret); hmacSha256(key, 'cursor:…')
 * ```
 */
export function sha256(data: string | Uint8Array, encoding: 'base64url' | 'hex' = 'base64url'): string {
  return createHash('sha256').update(data).digest(encoding)
}

/** An HMAC key: the secret's bytes, imported once. */
export type HmacSecret = KeyObject

/** Import a base64url secret as an HMAC-SHA256 key. */
export function hmacSecret(secret: string): HmacSecret {
  return createSecretKey(Buffer.from(secret, 'base64url'))
}

/** base64url(HMAC-SHA256(key, data)). */
export function hmacSha256(key: HmacSecret, data: string): string {
  return createHmac('sha256', key).update(data).digest('base64url')
}

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: the required members in
 * lexicographic order, no whitespace. The same value as jose's `calculateJwkThumbprint`, without its
 * asynchronous digest. Throws on a key type or member it does not know.
 */
export function jwkThumbprint(jwk: { kty?: unknown; [k: string]: unknown }): string {
  const str = (name: string) => {
    const v = jwk[name]
    if (typeof v !== 'string' || v.length === 0) throw new TypeError(`JWK "${name}" must be a string`)
    return v
  }
  let members: Record<string, string>
  switch (jwk.kty) {
    case 'EC':
      members = { crv: str('crv'), kty: 'EC', x: str('x'), y: str('y') }
      break
    case 'OKP':
      members = { crv: str('crv'), kty: 'OKP', x: str('x') }
      break
    case 'RSA':
      members = { e: str('e'), kty: 'RSA', n: str('n') }
      break
    default:
      throw new TypeError('unsupported JWK "kty"')
  }
  return sha256(JSON.stringify(members))
}
