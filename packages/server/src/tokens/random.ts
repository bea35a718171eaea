import { type HmacSecret, hmacSecret, hmacSha256, sha256 } from '../util/hash.ts'

/** Bytes drawn from the CSPRNG at once, handed out once each (as `crypto.randomUUID` caches). */
const POOL_BYTES = 4096
let pool = new Uint8Array(0)
let used = 0

/**
 * `bytes` fresh bytes from `crypto.getRandomValues`, taken from a pool refilled 4 KiB at a time: one
 * call into the CSPRNG costs ~10 µs whatever its size, and a request asks for a few small tokens.
 * Every byte is handed out once; the view is valid until the next call.
 */
function randomBytes(bytes: number): Uint8Array {
  if (bytes > POOL_BYTES / 4) return crypto.getRandomValues(new Uint8Array(bytes))
  if (used + bytes > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES))
    used = 0
  }
  const out = pool.subarray(used, used + bytes)
  used += bytes
  return out
}

/** A random, URL-safe identifier or secret of `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  const random = randomBytes(bytes)
  return Buffer.from(random.buffer, random.byteOffset, random.byteLength).toString('base64url')
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
