import { base64url } from 'jose'
import { type HmacSecret, hmacSecret, hmacSha256, sha256 } from '../util/hash.ts'

/** A random, URL-safe identifier or secret of `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)))
}

/** What the store keeps instead of a code or refresh token: its SHA-256. */
export async function hashSecret(secret: string): Promise<string> {
  return sha256(secret, 'hex')
}

/** Constant-time string comparison (for bearer secrets like the initial access token). */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a)
  const y = new TextEncoder().encode(b)
  let diff = x.length ^ y.length
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    diff |= (x[i % x.length] ?? 0) ^ (y[i % y.length] ?? 0)
  return diff === 0
}

/** Import a base64url server secret as an HMAC-SHA256 key (a `node:crypto` key: see util/hash.ts). */
export async function hmacKey(secret: string): Promise<HmacSecret> {
  return hmacSecret(secret)
}

/** base64url(HMAC-SHA256(key, data)), computed synchronously (see util/hash.ts); async for its callers. */
export async function hmac(key: HmacSecret, data: string): Promise<string> {
  return hmacSha256(key, data)
}
