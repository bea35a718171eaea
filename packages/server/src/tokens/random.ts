import { sha256Hex } from '@consentry/core'
import { base64url } from 'jose'

/** A random, URL-safe identifier or secret of `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)))
}

/** What the store keeps instead of a code or refresh token: its SHA-256. */
export function hashSecret(secret: string): Promise<string> {
  return sha256Hex(secret)
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

export async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    'raw',
    base64url.decode(secret) as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  )
}

export async function hmac(key: CryptoKey, data: string): Promise<string> {
  return base64url.encode(
    new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(data))),
  )
}
