import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose'
import { Lru } from '../util/lru.ts'
import { EgressError, type EgressOptions, guardedFetch } from './guarded-fetch.ts'

/** Largest `jwks_uri` document read (a JWKS of ten RSA-4096 keys is about 8 KiB). */
export const JWKS_MAX_BYTES = 64 * 1024
/** Distinct `jwks_uri`s whose key sets are kept per server. */
export const JWKS_CACHE_ENTRIES = 500
/** After a failed fetch, the same `jwks_uri` is not fetched again for this long. */
export const JWKS_FAILURE_TTL_MS = 30_000

/** The key sets behind clients' `jwks_uri`s, for one server: bounded, fetched through the guard. */
export interface RemoteJwks {
  /** The key-selection function `jwtVerify` takes, for `uri`. */
  get(uri: string): JWTVerifyGetKey
}

/**
 * Remote JWK sets for one server. jose's `createRemoteJWKSet` keeps each set fresh (10-minute cache,
 * 30-second cooldown before refetching for an unknown `kid`); its fetch goes through
 * {@link guardedFetch} with a 64 KiB cap, and a failed fetch (refused address, timeout, non-200,
 * oversize or non-JSON body) is remembered for 30 seconds per URL so a client retrying — or an
 * attacker pointing many assertions at a slow `jwks_uri` — cannot make the server fetch again.
 */
export function createRemoteJwks(egress: EgressOptions, now: () => number): RemoteJwks {
  const sets = new Lru<string, JWTVerifyGetKey>(JWKS_CACHE_ENTRIES)
  const failures = new Lru<string, number>(JWKS_CACHE_ENTRIES)

  const fetchJwks = async (url: string, init?: RequestInit): Promise<Response> => {
    const failedAt = failures.get(url)
    if (failedAt !== undefined && now() - failedAt < JWKS_FAILURE_TTL_MS)
      throw new EgressError('egress_failed', 'this jwks_uri failed moments ago')
    try {
      const res = await guardedFetch(
        url,
        {
          headers: { accept: 'application/jwk-set+json, application/json' },
          maxBytes: JWKS_MAX_BYTES,
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        egress,
      )
      if (res.status !== 200) throw new EgressError('egress_failed', `jwks_uri answered ${res.status}`)
      JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(res.body))
      failures.delete(url)
      return new Response(res.body, { status: 200, headers: { 'content-type': 'application/json' } })
    } catch (e) {
      failures.set(url, now())
      throw e
    }
  }

  return {
    get(uri) {
      let set = sets.get(uri)
      if (!set) {
        set = createRemoteJWKSet(new URL(uri), { [customFetch]: fetchJwks })
        sets.set(uri, set)
      }
      return set
    },
  }
}
