import type { AuthorizationDetail } from '@consentry/core'
import type { JWK } from 'jose'

/** A DPoP key pair as JSON Web Keys (ES256 by default), so it can be stored and restored. */
export interface DPoPKeyJwks {
  publicKey: JWK
  privateKey: JWK
}

/**
 * Everything the SDK keeps about one link (one grant): tokens, the link's DPoP key, and what was
 * granted. Plain JSON: store it wherever you keep secrets, encrypted at rest. Times are epoch ms.
 */
export interface LinkState {
  version: 1
  issuer: string
  clientId: string
  grantId: string
  accessToken: string
  accessTokenExpiresAt: number
  refreshToken?: string
  /** The DPoP key every token of this link is bound to. */
  dpopKey: DPoPKeyJwks
  /** The granted `authorization_details` (concrete accounts, the fields the person left ticked). */
  authorizationDetails: AuthorizationDetail[]
  /** Best-known grant expiry (from the granted `expires_in` at link time, or from grant status). */
  grantExpiresAt?: number
  /** The newest audit-log checkpoint (signed note) `link.verifyAccessLog()` has verified. */
  auditCheckpoint?: string
  createdAt: number
  updatedAt: number
}

/**
 * Where links are kept between requests and restarts. Implement it over your database; methods may be
 * sync or async. `set` must be durable before it resolves: a rotated refresh token that is lost ends
 * the grant (reusing the old one revokes it).
 *
 * @example
 * ```ts
 * const tokenStore: TokenStore = {
 *   get: async (id) => JSON.parse((await kv.get(`link:${id}`)) ?? 'null') ?? undefined,
 *   set: async (id, state) => kv.put(`link:${id}`, JSON.stringify(state)),
 *   delete: async (id) => kv.delete(`link:${id}`),
 * }
 * ```
 */
export interface TokenStore {
  get(grantId: string): Promise<LinkState | undefined> | LinkState | undefined
  set(grantId: string, state: LinkState): Promise<void> | void
  delete(grantId: string): Promise<void> | void
}

/**
 * The default in-memory token store (copies on the way in and out). Links are lost on restart.
 *
 * @example
 * ```ts
 * const client = createConsentClient({ ...config, tokenStore: memoryTokenStore() })
 * ```
 */
export function memoryTokenStore(): TokenStore & { size(): number } {
  const map = new Map<string, LinkState>()
  return {
    get: (grantId) => {
      const state = map.get(grantId)
      return state ? structuredClone(state) : undefined
    },
    set: (grantId, state) => {
      map.set(grantId, structuredClone(state))
    },
    delete: (grantId) => {
      map.delete(grantId)
    },
    size: () => map.size,
  }
}
