import type { AuthorizationDetail } from '@consentry/core'
import type { JWK } from 'jose'

/** A DPoP key pair as JSON Web Keys (ES256 by default), so it can be stored and restored. */
export interface DPoPKeyJwks {
  /** The public JWK (its thumbprint is the token binding). */
  publicKey: JWK
  /** The private JWK: a secret. */
  privateKey: JWK
}

/**
 * Everything the SDK keeps about one link (one grant): tokens, the link's DPoP key, and what was
 * granted. Plain JSON: store it wherever you keep secrets, encrypted at rest. Times are epoch ms.
 */
export interface LinkState {
  /** Format version of this object. */
  version: 1
  /** The data holder's issuer. */
  issuer: string
  /** This client's id. */
  clientId: string
  /** The grant (also the store key). */
  grantId: string
  /** The current access token (a secret). */
  accessToken: string
  /** When it expires; the SDK refreshes shortly before. */
  accessTokenExpiresAt: number
  /** The current refresh token (a secret; rotated on every use). */
  refreshToken?: string
  /** The DPoP key every token of this link is bound to. */
  dpopKey: DPoPKeyJwks
  /** The granted `authorization_details` (concrete accounts, the fields the person left ticked). */
  authorizationDetails: AuthorizationDetail[]
  /** Best-known grant expiry (from the granted `expires_in` at link time, or from grant status). */
  grantExpiresAt?: number
  /** The newest audit-log checkpoint (signed note) `link.verifyAccessLog()` has verified. */
  auditCheckpoint?: string
  /** When the link was completed. */
  createdAt: number
  /** Last change (refresh, checkpoint). */
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
  /** The link's state, or `undefined` if none. */
  get(grantId: string): Promise<LinkState | undefined> | LinkState | undefined
  /** Save the link's state, durably, before resolving. */
  set(grantId: string, state: LinkState): Promise<void> | void
  /** Forget the link (ended or revoked). */
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
export function memoryTokenStore(): TokenStore & {
  /** How many links are stored. */
  size(): number
} {
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
