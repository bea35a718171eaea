import type { Json } from '@consentry/core'

/** Key names (lowercased, without `_`/`-`) that are secrets wherever they appear. */
const SECRET_NAMES = new Set([
  'code',
  'authcode',
  'authorizationcode',
  'authorization',
  'dpop',
  'pin',
  'otp',
  'cvv',
  'cvc',
])
/** …and the endings that make any key a secret (`access_token`, `clientSecret`, `api-key`, …). */
const SECRET_ENDINGS = [
  'token',
  'secret',
  'password',
  'passwd',
  'passphrase',
  'assertion',
  'jwt',
  'apikey',
  'privatekey',
  'secretkey',
  'cookie',
  'codeverifier',
  'credential',
  'credentials',
]

/** Keys already judged: events use a handful of key names, asked on every read's event. */
const verdicts = new Map<string, boolean>()
const MAX_VERDICTS = 1000

/**
 * Whether an object key names a secret (case-insensitive; `_`, `-` and camelCase all count):
 * `token`, `access_token`, `refreshToken`, `password`, `client_secret`, `code`, `client_assertion`,
 * `jwt`, `api_key`, … `token_type`, `token_count`, `error_code` or `token_hash` are fine.
 *
 * @example
 * ```ts
 * looksSecret('Refresh_Token') // true
 * looksSecret('token_type')    // false
 * ```
 */
export function looksSecret(key: string): boolean {
  let secret = verdicts.get(key)
  if (secret === undefined) {
    const name = key.toLowerCase().replace(/[^a-z0-9]/g, '')
    secret = SECRET_NAMES.has(name) || SECRET_ENDINGS.some((ending) => name.endsWith(ending))
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear()
    verdicts.set(key, secret)
  }
  return secret
}

/**
 * Check and copy an event's `data` into plain JSON. Throws a `TypeError` naming the path when a key
 * looks secret at any depth (see {@link looksSecret}) or a value is not JSON (a `Date`, `NaN`, a class
 * instance…), so secrets and values that would not hash the same after export never reach the trail.
 * `undefined` members are dropped, as JSON would.
 *
 * @example
 * ```ts
 * auditData({ accounts: 2, period: { from: '2025-01-01' } }) // ok, a copy
 * auditData({ refresh_token: 'x' })                          // TypeError: data.refresh_token …
 * ```
 */
export function auditData(data: unknown): { [key: string]: Json } {
  if (data === undefined) return {}
  const copy = toJson(data, 'data')
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) {
    throw new TypeError('audit data must be a plain JSON object')
  }
  return copy
}

function toJson(value: unknown, path: string): Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`audit ${path} is not a finite number`)
    return value
  }
  if (Array.isArray(value))
    return value.map((item, i) => (item === undefined ? null : toJson(item, `${path}[${i}]`)))
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) throw new TypeError(`audit ${path} is not plain JSON`)
    const out: { [key: string]: Json } = {}
    for (const [key, member] of Object.entries(value)) {
      const at = `${path}.${key}`
      if (looksSecret(key)) {
        throw new TypeError(
          `audit ${at} looks like a secret: audit events record ids, counts and ranges, never secrets`,
        )
      }
      if (member !== undefined) out[key] = toJson(member, at)
    }
    return out
  }
  throw new TypeError(`audit ${path} is not JSON (${typeof value})`)
}
