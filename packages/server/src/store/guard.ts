import { OAuthError } from '../errors.ts'
import type { Store } from './store.ts'

const hasNul = (value: unknown): boolean => typeof value === 'string' && value.includes('\0')

/** A string argument, or a string member of an object argument, that holds NUL. */
function nulIn(args: readonly unknown[]): boolean {
  for (const arg of args) {
    if (hasNul(arg)) return true
    if (arg && typeof arg === 'object' && !Array.isArray(arg))
      for (const member of Object.values(arg)) if (hasNul(member)) return true
  }
  return false
}

/**
 * The store as endpoints see it: every call whose identifiers hold a NUL character is refused with
 * `invalid_request` before it reaches the store. NUL is in no identifier Consentry issues, and
 * PostgreSQL text cannot hold it (the query would fail with a 500). The endpoints and body readers
 * refuse NUL first; this is the backstop for values that arrive inside JWTs (`jti`, …).
 */
export function guardStore(store: Store): Store {
  const wrapped = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target)
      if (typeof value !== 'function') return value
      let fn = wrapped.get(key)
      if (!fn) {
        fn = (...args: unknown[]) => {
          if (nulIn(args))
            return Promise.reject(
              new OAuthError('invalid_request', 'identifiers must not contain NUL characters'),
            )
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
        wrapped.set(key, fn)
      }
      return fn
    },
  })
}
