/**
 * Freeze a JSON value and everything in it, in place: for parsed tokens and headers kept in a cache
 * and shared by every request that finds them there.
 *
 * @example
 * ```ts
 * const claims = deepFreeze(JSON.parse(text))
 * ```
 */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member)
    Object.freeze(value)
  }
  return value
}
