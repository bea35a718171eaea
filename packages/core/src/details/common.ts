import { z } from 'zod'

/** A calendar date `YYYY-MM-DD` that exists (2025-02-30 is rejected). */
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`)
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s
  }, 'not a calendar date')

/** An absolute URL; `https:` only, unless it is a loopback `http:` URL (RFC 8252 §7.3). */
export const secureUrl = z.string().max(2048).refine(isSecureUrl, 'must be https, or http on a loopback host')

/**
 * `true` for an absolute `https:` URL, or `http:` on a loopback host (RFC 8252 §7.3), with no
 * fragment (not even an empty `#`), no userinfo (not even an empty `@`), and no control character,
 * space or DEL anywhere — raw or percent-encoded (`%00`–`%1F`, `%7F`, C1 as `%C2%80`–`%C2%9F`) — that
 * the URL parser would otherwise strip, keep or encode into something other than what was compared.
 */
export function isSecureUrl(value: string): boolean {
  if (typeof value !== 'string' || UNSAFE_URL_CHARS.test(value) || ENCODED_CONTROL.test(value)) return false
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (value.includes('#') || url.username || url.password) return false
  // `https://@host/` parses with an empty username: refuse any `@` in the authority.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value)) return false
  if (url.protocol === 'https:') return true
  return url.protocol === 'http:' && isLoopbackHost(url.hostname)
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to reject them
const UNSAFE_URL_CHARS = /[\u0000-\u0020\u007f-\u009f\u2028\u2029\\]/
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f|c2%[89][0-9a-f])/i

/** `true` for `localhost`, `[::1]` and 127.0.0.0/8 dotted quads (a URL's `hostname`). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname)
}
