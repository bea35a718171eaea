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
 * The secret-free record of a link that has ended (a tombstone): no tokens, no keys. Kept so that
 * every later call on the grant throws `GrantRevokedError` / `GrantExpiredError`, however the SDK
 * learned of the end, instead of `LinkNotFoundError`.
 */
export interface EndedLink {
  version: 1
  grantId: string
  status: 'revoked' | 'expired'
  /** The server's reason when known, e.g. `revoked_by_subject`, `revoked_by_client`, `refresh_token_reuse`. */
  reason?: string
  /** When the SDK learned of the end (epoch ms). */
  endedAt: number
}

/**
 * Where links are kept between requests and restarts. Implement it over your database; methods may be
 * sync or async. `set` must be durable before it resolves: a rotated refresh token that is lost ends
 * the grant (reusing the old one revokes it).
 *
 * When a link ends (the server reports it revoked or expired, a "grant ended" event arrives, or you call
 * `link.revoke()`), the SDK calls `setEnded` (if you implement it) and then `delete`. Implement the
 * optional `setEnded` / `getEnded` pair so that other processes sharing the store also answer
 * `GrantRevokedError` rather than `LinkNotFoundError` for that grant; without them the SDK remembers
 * ended links in memory, for the life of the client (the last 10 000).
 *
 * @example
 * ```ts
 * const tokenStore: TokenStore = {
 *   get: async (id) => JSON.parse((await kv.get(`link:${id}`)) ?? 'null') ?? undefined,
 *   set: async (id, state) => kv.put(`link:${id}`, JSON.stringify(state)),
 *   delete: async (id) => kv.delete(`link:${id}`),
 *   // optional: remember ended links across processes
 *   setEnded: async (id, ended) => kv.put(`ended:${id}`, JSON.stringify(ended)),
 *   getEnded: async (id) => JSON.parse((await kv.get(`ended:${id}`)) ?? 'null') ?? undefined,
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
  /** Optional: keep the tombstone of an ended link (it holds no secrets). Called just before `delete`. */
  setEnded?(grantId: string, ended: EndedLink): Promise<void> | void
  /** Optional: the tombstone kept by `setEnded`, if any. */
  getEnded?(grantId: string): Promise<EndedLink | undefined> | EndedLink | undefined
}

/**
 * The default in-memory token store (copies on the way in and out), tombstones of ended links
 * included. Links are lost on restart.
 *
 * @example
 * ```ts
 * const client = createConsentClient({ ...config, tokenStore: memoryTokenStore() })
 * ```
 */
export function memoryTokenStore(): Required<TokenStore> & {
  /** How many links are stored. */
  size(): number
} {
  const map = new Map<string, LinkState>()
  const ended = new Map<string, EndedLink>()
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
    setEnded: (grantId, record) => {
      ended.set(grantId, structuredClone(record))
    },
    getEnded: (grantId) => {
      const record = ended.get(grantId)
      return record ? structuredClone(record) : undefined
    },
    size: () => map.size,
  }
}
