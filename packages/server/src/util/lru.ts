/**
 * A bounded map that forgets the least recently used entry once it holds `max` entries. Used for every
 * per-server cache (remote JWK sets, egress failures, imported keys) so that no input an attacker
 * controls (a `jwks_uri`, a DPoP key) can grow memory without bound.
 *
 * @example
 * ```ts
 * const sets = new Lru<string, JWTVerifyGetKey>(500)
 * sets.set(uri, createRemoteJWKSet(new URL(uri)))
 * sets.get(uri) // refreshes its recency
 * ```
 */
export class Lru<K, V> {
  readonly #entries = new Map<K, V>()
  readonly max: number

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('Lru max must be a positive integer')
    this.max = max
  }

  /** The value, marked most recently used; `undefined` when absent. */
  get(key: K): V | undefined {
    if (!this.#entries.has(key)) return undefined
    const value = this.#entries.get(key) as V
    // A Map iterates in insertion order: re-inserting moves the key to the "newest" end.
    this.#entries.delete(key)
    this.#entries.set(key, value)
    return value
  }

  /** Insert or replace, evicting the least recently used entry when full. */
  set(key: K, value: V): this {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    if (this.#entries.size > this.max) this.#entries.delete(this.#entries.keys().next().value as K)
    return this
  }

  has(key: K): boolean {
    return this.#entries.has(key)
  }

  delete(key: K): boolean {
    return this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }

  get size(): number {
    return this.#entries.size
  }
}
