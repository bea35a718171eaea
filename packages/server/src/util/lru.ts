/**
 * A small least-recently-used map with a fixed capacity: `get` and `set` mark an entry as the most
 * recently used, and `set` beyond `max` entries evicts the least recently used one. Backed by a `Map`
 * (which keeps insertion order), so every operation is O(1).
 *
 * Used for per-server caches that must stay bounded however many distinct keys attackers send
 * (imported DPoP keys, remote JWK sets).
 *
 * @example
 * ```ts
 * const cache = new Lru<string, CryptoKey>(1000)
 * cache.set('ES256:thumbprint', key)
 * cache.get('ES256:thumbprint') // key, now the most recently used
 * ```
 */
export class Lru<K, V> {
  readonly #entries = new Map<K, V>()

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('Lru max must be a positive integer')
  }

  /** The value for `key` (marking it most recently used), or `undefined`. */
  get(key: K): V | undefined {
    if (!this.#entries.has(key)) return undefined
    const value = this.#entries.get(key) as V
    this.#entries.delete(key)
    this.#entries.set(key, value)
    return value
  }

  /** Store `value` as the most recently used entry, evicting the least recently used beyond `max`. */
  set(key: K, value: V): this {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    while (this.#entries.size > this.max) this.#entries.delete(this.#entries.keys().next().value as K)
    return this
  }

  /** Remove `key`; `true` if it was there. */
  delete(key: K): boolean {
    return this.#entries.delete(key)
  }

  /** How many entries are held (never more than `max`). */
  get size(): number {
    return this.#entries.size
  }
}
