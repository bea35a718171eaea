import type {
  AuditEvent,
  AuditEventDraft,
  AuthorizationDetail,
  ClientRecord,
  Grant,
  GrantStatus,
  NodeId,
} from '@consentry/core'

/**
 * Everything Consentry persists goes through one `Store`. Every implementation (memory, PostgreSQL,
 * embedded PGlite) must pass the shared conformance suite in `test/store-conformance.ts`.
 *
 * Rules every implementation keeps:
 * - Times are epoch milliseconds. Callers pass `now`; stores never read the clock for decisions.
 * - Operations documented as *atomic* must be done by the store itself (a single SQL statement, a
 *   transaction with a row lock, …), never as read-then-write in JavaScript, because several server
 *   instances share one store.
 * - Secrets arrive already hashed where noted (`codeHash`, `tokenHash`); stores never see raw codes or
 *   refresh tokens.
 * - Returned objects are copies: mutating them never changes what is stored.
 */
export interface Store {
  // ---- clients -------------------------------------------------------------------------------
  createClient(client: ClientRecord): Promise<void>
  getClient(clientId: string): Promise<ClientRecord | null>
  /**
   * Clients whose `nameSkeleton` equals `skeleton`, oldest first, at most `limit` (clients stored
   * without a skeleton are never returned). Read-only; no atomicity needed.
   */
  findClientsByNameSkeleton(skeleton: string, limit: number): Promise<ClientRecord[]>
  /**
   * Store a client's logo (fetched once from its `logo_uri`), replacing any earlier one for the same
   * client. A single write: no atomicity beyond that.
   */
  saveClientLogo(logo: ClientLogo): Promise<void>
  /** The stored logo of a client, or `null`. */
  getClientLogo(clientId: string): Promise<ClientLogo | null>

  // ---- pushed authorization requests (RFC 9126) ----------------------------------------------
  savePushedRequest(request: PushedRequest): Promise<void>
  /**
   * Atomic, single use: returns the request the first time it is asked for while unexpired, `null`
   * ever after (and for unknown or expired request_uris).
   */
  consumePushedRequest(requestUri: string, now: number): Promise<PushedRequest | null>

  // ---- interactions: an authorization in progress (login, then consent) -----------------------
  saveInteraction(interaction: Interaction): Promise<void>
  /** `null` if unknown or expired. */
  getInteraction(id: string, now: number): Promise<Interaction | null>
  /** Atomic, single use: the consent decision can be taken once. */
  consumeInteraction(id: string, now: number): Promise<Interaction | null>

  // ---- authorization codes --------------------------------------------------------------------
  saveCode(code: AuthorizationCode): Promise<void>
  /**
   * Atomic, and only for the client the code was issued to. A code whose `clientId` is not `clientId`
   * gives `{ status: 'wrong_client' }` and is left exactly as it was (never marked used), whatever its
   * state, so another client presenting a stolen code can neither burn it nor trigger reuse
   * detection. For its own client: the first call for an unexpired code returns `{ status: 'ok' }` and
   * marks it used (the check of `clientId` and the marking are one step); every later call returns
   * `{ status: 'reused' }` (so the server can revoke what the code issued); an expired unused code
   * gives `null`. An unknown code gives `null`.
   */
  consumeCode(
    codeHash: string,
    now: number,
    clientId: string,
  ): Promise<{ status: 'ok' | 'reused' | 'wrong_client'; code: AuthorizationCode } | null>

  // ---- grants ---------------------------------------------------------------------------------
  createGrant(grant: Grant): Promise<void>
  getGrant(grantId: string): Promise<Grant | null>
  /**
   * Atomic compare-and-set: applies `patch` only if the grant's stored status is one of `from`.
   * Returns the updated grant, or `null` if it does not exist or its status did not match.
   *
   * `effects` happen in the same transaction as the transition, or not at all: when the
   * compare-and-set fails nothing is changed, and when an effect fails (an `outbox` event whose id is
   * already queued) the call throws and the grant is left as it was. `revokeRefreshTokensAt` marks
   * every unrevoked refresh token of the grant revoked at that time; `outbox` queues the event telling
   * the recipient (so a crash can never end a grant and lose its event).
   */
  transitionGrant(
    grantId: string,
    from: readonly GrantStatus[],
    patch: GrantPatch,
    effects?: GrantTransitionEffects,
  ): Promise<Grant | null>
  /** Grants of a subject and/or client, newest first. */
  listGrants(filter: { subject?: string; clientId?: string }): Promise<Grant[]>
  /**
   * Active or pending grants whose `expiresAt <= now`, oldest first: for the expiry sweeper (a pending
   * grant's `expiresAt` is the end of its consent interaction, so abandoned requests end too).
   */
  listExpiringGrants(now: number, limit: number): Promise<Grant[]>
  /**
   * Active grants with `now < expiresAt <= before` whose recipient has not been reminded of *this*
   * expiry yet (see {@link markGrantReminded}; a renewal moves `expiresAt`, so the renewed grant is
   * due again later), soonest expiry first, at most `limit`. Read-only.
   */
  listGrantsToRemind(now: number, before: number, limit: number): Promise<Grant[]>
  /**
   * Atomic: if the grant is active, its `expiresAt` is still `expiresAt` and it was not yet marked
   * for that expiry, mark it (remember `expiresAt` as the reminded one) and queue `event` (when given)
   * in the same transaction, and return `true`. Otherwise change nothing and return `false` — so
   * concurrent instances send one reminder per expiry.
   */
  markGrantReminded(grantId: string, expiresAt: number, event?: OutboxEvent): Promise<boolean>

  // ---- refresh tokens (stored hashed) ---------------------------------------------------------
  saveRefreshToken(token: RefreshTokenRecord): Promise<void>
  getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>
  /**
   * Atomic rotation: if `oldHash` is unused, unexpired and unrevoked, mark it used and save `next`:
   * `{ status: 'ok' }`. If it was already used: `{ status: 'reused' }` (reuse detection: the caller
   * revokes the grant). Unknown, expired or revoked: `null`.
   */
  rotateRefreshToken(
    oldHash: string,
    next: RefreshTokenRecord,
    now: number,
  ): Promise<{ status: 'ok' | 'reused'; token: RefreshTokenRecord } | null>
  /** Mark every refresh token of a grant revoked. */
  revokeRefreshTokens(grantId: string, now: number): Promise<void>

  // ---- replay protection ----------------------------------------------------------------------
  /** Atomic: `true` the first time `key` is seen (kept until `expiresAt`), `false` on replay. */
  recordJti(key: string, expiresAt: number): Promise<boolean>
  /**
   * The resource request's store work in one round trip: {@link recordJti} for a DPoP proof and
   * {@link getGrant} for its access token's grant. The jti part is atomic exactly as `recordJti`; the
   * grant is read as `getGrant` would at that moment (a revocation committed before is seen).
   *
   * @example
   * ```ts
   * const { firstUse, grant } = await store.recordJtiAndGetGrant(`dpop:${jkt}:${jti}`, expiresAt, grantId)
   * ```
   */
  recordJtiAndGetGrant(
    key: string,
    expiresAt: number,
    grantId: string,
  ): Promise<{ firstUse: boolean; grant: Grant | null }>

  // ---- rate limits ----------------------------------------------------------------------------
  /**
   * Atomic: counts reads of `grantId` in the sliding window `(now - windowMs, now]`; if fewer than
   * `limit`, records this one and allows it. Otherwise refuses and says when the oldest counted read
   * leaves the window. The key is any string.
   */
  consumeReadQuota(
    grantId: string,
    now: number,
    limit: number,
    windowMs: number,
    options?: {
      /**
       * The caller makes a synchronous write (the read's audit event) before it acts on an allowed
       * read, so a SQL store need not wait for this commit's own WAL flush (WAL is flushed in order).
       */
      flushedByNextWrite?: boolean
    },
  ): Promise<{ allowed: true; used: number } | { allowed: false; retryAfterMs: number }>

  // ---- server secrets (shared by every instance) ----------------------------------------------
  /** Atomic insert-if-absent: returns the stored value, or stores and returns `create()`'s. */
  getOrCreateSecret(name: string, create: () => string): Promise<string>
  /**
   * Atomic compare-and-set: replaces the secret's value with `value` only if it is still `expected`
   * (used to encrypt, or re-encrypt, a stored secret in place). `false` if it changed or is absent.
   */
  replaceSecret(name: string, expected: string, value: string): Promise<boolean>
  /**
   * `true` for a store that keeps nothing past the process (memoryStore): server secrets then need no
   * key-encryption key, since they never reach a disk. Absent means durable.
   */
  readonly ephemeral?: boolean

  // ---- audit log (a transparency log: RFC 9162 Merkle tree, C2SP checkpoints) ----------------
  /**
   * Insert an event. No lock, no chain, nothing read: the store gives it the next `seq` (unique and
   * increasing; gaps allowed) and it waits, pending, until `integrateAuditEvents` gives it a leaf
   * index. Returns the stored event.
   */
  appendAuditEvent(draft: AuditEventDraft): Promise<AuditEvent>
  /**
   * Events, filtered, pending ones included, in `seq` order; `afterSeq` pages forward. With
   * `afterIndex` or `belowIndex`: only integrated events with `afterIndex < index < belowIndex`, in
   * `index` order.
   */
  listAuditEvents(query: AuditQuery): Promise<AuditEvent[]>
  /**
   * The sequencer's step. Atomic and exclusive across instances (one sequencer at a time: a lock or
   * lease held by the sequencer only, never by `appendAuditEvent`): when another instance is
   * integrating, returns `null` at once. Otherwise, in ONE transaction: reads the newest
   * checkpoint's size `n` and up to `limit` pending events (oldest `seq` first), reads the stored
   * nodes `appendPlan(n)` from `@consentry/core`, calls `seal`, then gives the events leaf indexes
   * `n, n+1, …` in that order, stores `seal`'s nodes and its checkpoint. Returns the new
   * checkpoint, or `null` when nothing was pending (and a checkpoint exists already: with no
   * checkpoint at all, `seal` is called with no events, for the size-0 checkpoint).
   */
  integrateAuditEvents(
    limit: number,
    seal: (batch: AuditBatch) => Promise<AuditSeal>,
  ): Promise<AuditLogCheckpoint | null>
  /** The newest checkpoint, or `null` before the first. */
  getAuditCheckpoint(): Promise<AuditLogCheckpoint | null>
  /**
   * Stored perfect-subtree hashes (RFC 9162 nodes: `level` 0 = leaf hashes), in the order asked.
   * Throws if one is not stored.
   */
  getAuditNodes(nodes: readonly NodeId[]): Promise<Uint8Array[]>

  // ---- outbox: events to recipients, delivered at least once ----------------------------------
  /** Queue an event for delivery (kept until delivered or given up, across restarts). */
  enqueueEvent(event: OutboxEvent): Promise<void>
  /**
   * Atomic: claim up to `limit` events due at `now` (`nextAttemptAt <= now`, the longest-due first),
   * moving their `nextAttemptAt` to `now + leaseMs` so no other instance claims them meanwhile.
   * Returned oldest first (`createdAt`, then `id`).
   */
  claimEvents(now: number, limit: number, leaseMs: number): Promise<OutboxEvent[]>
  /** Schedule another attempt of a claimed event. */
  rescheduleEvent(id: string, attempts: number, nextAttemptAt: number): Promise<void>
  /** Delivered, or given up: remove it. */
  deleteEvent(id: string): Promise<void>

  // ---- sign-in: failure counters ------------------------------------------------------------------
  /**
   * Atomic: count one more sign-in failure under `key` (the server uses one key per (username,
   * address) pair and one per address). Failures are counted in a fixed window that opens at the
   * key's first failure: if nothing is stored, or the stored window opened at or before
   * `now - windowMs`, a new window opens at `now` with count 1; otherwise the count grows by one and
   * `lastAt` becomes `now`. Returns the window after this failure; `previousAt` is the `lastAt` it
   * replaced (absent when this failure opened the window). Two concurrent calls never both see the
   * same count.
   */
  recordFailure(key: string, now: number, windowMs: number): Promise<FailureWindow>
  /** The current window of `key`: `null` if none, or if it opened at or before `now - windowMs`. */
  getFailures(key: string, now: number, windowMs: number): Promise<FailureWindow | null>
  /**
   * Atomic: take one failure back (count - 1, never below 0; `firstAt`/`lastAt` unchanged). The
   * server counts every attempt up front and forgives the ones that succeed. Unknown keys: no-op.
   */
  forgiveFailure(key: string): Promise<void>
  /** Forget every failure of `key` (a successful sign-in resets its pair). Unknown keys: no-op. */
  clearFailures(key: string): Promise<void>

  // ---- sign-in: server-side sessions (revocable) --------------------------------------------------
  /** Store a new session (its id arrives hashed); an id hash already stored is an error. */
  createSession(session: SessionRecord): Promise<void>
  /** The session, or `null` if unknown or expired (`expiresAt <= now`). */
  getSession(idHash: string, now: number): Promise<SessionRecord | null>
  /** End a session (sign-out): from now on `getSession` gives `null`. Unknown ids: no-op. */
  deleteSession(idHash: string): Promise<void>

  // ---- housekeeping ---------------------------------------------------------------------------
  /**
   * Remove expired single-use rows (requests, interactions, codes, jtis, old quota rows), expired
   * sessions, and failure windows whose last failure is {@link FAILURE_RETENTION_MS} or more old.
   */
  deleteExpired(now: number): Promise<void>
  close(): Promise<void>
}

/** The validated parameters of a pushed authorization request. */
export interface AuthorizationRequest {
  clientId: string
  redirectUri: string
  state?: string
  codeChallenge: string
  authorizationDetails: AuthorizationDetail[]
  /** RFC 9449 §10: the code is bound to this DPoP key. */
  dpopJkt: string
  /**
   * Grant Management (FAPI Grant Management §6): this request changes the client's active grant
   * `grantId` — `replace` its details with the requested ones, or `merge` them into it. Absent: a new
   * grant.
   */
  grantManagement?: GrantManagementRequest
}

/** A pushed request's `grant_id` + `grant_management_action`. */
export interface GrantManagementRequest {
  grantId: string
  action: 'merge' | 'replace'
  /**
   * For `merge`: per requested detail, the members the recipient actually sent (zod fills defaults
   * such as `expires_in`; a later expiry or more reads a day are merged in only when asked).
   */
  asked?: string[][]
}

export interface PushedRequest {
  requestUri: string
  request: AuthorizationRequest
  expiresAt: number
}

export interface Interaction {
  id: string
  request: AuthorizationRequest
  /** Set once the account holder has signed in. */
  subject?: string
  /** The pending grant created when the consent page is first shown. */
  grantId?: string
  /** Binds the browser: a hash of the interaction cookie. */
  cookieHash: string
  csrf: string
  expiresAt: number
}

export interface AuthorizationCode {
  codeHash: string
  clientId: string
  grantId: string
  subject: string
  redirectUri: string
  codeChallenge: string
  dpopJkt: string
  expiresAt: number
}

export interface RefreshTokenRecord {
  tokenHash: string
  grantId: string
  clientId: string
  /** DPoP key the token is bound to (RFC 9449 §5: public clients; we bind for every client). */
  jkt: string
  createdAt: number
  expiresAt: number
  usedAt?: number
  revokedAt?: number
}

/** What {@link Store.transitionGrant} does atomically with a successful transition. */
export interface GrantTransitionEffects {
  /** Revoke every unrevoked refresh token of the grant at this time (epoch ms). */
  revokeRefreshTokensAt?: number
  /** Queue this event (its `id` must be new). */
  outbox?: OutboxEvent
  /**
   * A further condition of the compare-and-set, not an effect: the stored `updatedAt` must equal this
   * (an amendment computed from the grant as it was read is refused if the grant changed meanwhile).
   */
  ifUpdatedAt?: number
}

export interface GrantPatch {
  status?: GrantStatus
  authorizationDetails?: AuthorizationDetail[]
  expiresAt?: number
  updatedAt: number
  endedAt?: number
  endedReason?: string
}

export interface AuditQuery {
  afterSeq?: number
  /** Only integrated events with a leaf index above this one (index order). */
  afterIndex?: number
  /** Only integrated events with a leaf index below this one (index order). */
  belowIndex?: number
  /** Only events not integrated yet. */
  pending?: boolean
  limit?: number
  grantId?: string
  subject?: string
  clientId?: string
  types?: string[]
}

/** An event waiting to be pushed to a recipient's webhook. */
export interface OutboxEvent {
  id: string
  clientId: string
  grantId: string
  url: string
  /** The signed Security Event Token. */
  body: string
  /** Failed attempts so far. */
  attempts: number
  nextAttemptAt: number
  createdAt: number
}

/** A signed checkpoint of the audit log (a C2SP signed note). */
export interface AuditLogCheckpoint {
  /** Leaves in the tree. */
  size: number
  /** RFC 9162 root hash of the tree of `size` leaves. */
  root: Uint8Array
  /** The signed note: origin, size and base64 root, then the Ed25519 signature line. */
  note: string
  createdAt: number
}

/** What the sequencer is handed to seal: the tree size so far, the events to add, the edge nodes. */
export interface AuditBatch {
  /** Leaves already in the tree (`events` get indexes `size`, `size + 1`, …). */
  size: number
  events: AuditEvent[]
  /** The stored nodes `appendPlan(size)` names, in that order. */
  edge: Uint8Array[]
}

/** What the sequencer returns: the new perfect-subtree nodes and the signed checkpoint over them. */
export interface AuditSeal {
  nodes: { level: number; index: number; hash: Uint8Array }[]
  checkpoint: AuditLogCheckpoint
}

/** A client's logo as fetched from its `logo_uri` and checked (a raster image, at most 256 KiB). */
export interface ClientLogo {
  clientId: string
  /** `image/png`, `image/jpeg`, `image/gif` or `image/webp`. */
  contentType: string
  bytes: Uint8Array
  createdAt: number
}

/**
 * Failure windows whose last failure is this old are dropped by `deleteExpired` (the server's
 * sign-in windows are at most a day).
 */
export const FAILURE_RETENTION_MS = 48 * 3_600_000

/** Sign-in failures counted under one key (see {@link Store.recordFailure}). */
export interface FailureWindow {
  /** Failures in the window. */
  count: number
  /** When the window opened (its first failure). */
  firstAt: number
  /** The latest failure. */
  lastAt: number
  /** From `recordFailure` only: the failure before this one in the same window. */
  previousAt?: number
}

/** A built-in sign-in session. The cookie holds a random id; the store keeps only its SHA-256. */
export interface SessionRecord {
  idHash: string
  subject: string
  name?: string
  createdAt: number
  expiresAt: number
}
