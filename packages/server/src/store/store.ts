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
 *
 * Pushed requests, interactions, authorization codes and sessions share one generic single-use
 * {@link StoredRecord} API (`saveRecord`, `findRecord`, `consumeRecord`, `deleteRecord`); the server
 * keeps its typed view of them in `records.ts`. That folded ten methods into four: the contract went
 * from 46 methods to 40.
 */
export interface Store {
  // ---- clients -------------------------------------------------------------------------------
  /** Store a newly registered client (its id is new). */
  createClient(client: ClientRecord): Promise<void>
  /** The client, or `null` if unknown. */
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

  // ---- single-use records: pushed requests, interactions, codes, sessions ------------------------
  /**
   * Insert a record, or replace the value, owner and expiry of the unconsumed record with the same
   * `kind` and `id` (an interaction is saved again after sign-in). A consumed record is never
   * revived: saving over it changes nothing.
   */
  saveRecord(record: Omit<StoredRecord, 'consumedAt'>): Promise<void>
  /** The record, or `null` if unknown, expired (`expiresAt <= now`) or consumed. Read-only. */
  findRecord(kind: RecordKind, id: string, now: number): Promise<StoredRecord | null>
  /**
   * Atomic, single use. `null` if unknown, or expired and never consumed. With `owner` given and the
   * record's `owner` different: `{ status: 'wrong_owner' }` and the record is left exactly as it was,
   * whatever its state (a stolen code can neither be burnt nor trigger reuse detection). Otherwise, the first call while
   * unexpired sets `consumedAt = now` and gives `{ status: 'ok' }` (the owner check and the marking are
   * one step); every later call gives `{ status: 'consumed' }` (reuse detection), until `deleteExpired`
   * drops the record. `record` is the stored record (a copy).
   */
  consumeRecord(
    kind: RecordKind,
    id: string,
    now: number,
    owner?: string,
  ): Promise<{
    /** `ok`: this call consumed it; `consumed`: consumed before; `wrong_owner`: another party's (left untouched). */
    status: 'ok' | 'consumed' | 'wrong_owner'
    /** The stored record. */
    record: StoredRecord
  } | null>
  /** Remove a record (sign-out ends a session). Unknown: no-op. */
  deleteRecord(kind: RecordKind, id: string): Promise<void>

  // ---- grants ---------------------------------------------------------------------------------
  /** Store a new grant (its id is new). */
  createGrant(grant: Grant): Promise<void>
  /** The grant, or `null` if unknown. Reads what was committed last (a revocation is seen at once). */
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
  /** Store a refresh token record (hashed). */
  saveRefreshToken(token: RefreshTokenRecord): Promise<void>
  /** The refresh token record of this hash, whatever its state, or `null`. */
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
  ): Promise<{
    /** `ok`: rotated; `reused`: it had been used already. */
    status: 'ok' | 'reused'
    /** The old token's record. */
    token: RefreshTokenRecord
  } | null>
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
   *
   * With `claim` (a read whose quota is known before the grant: an attended read), the read is also
   * counted in the same atomic step, exactly as
   * `consumeReadQuota(claim.key, claim.now, claim.limit, claim.windowMs, { flushedByNextWrite: true })`
   * would count it, and `quota` is that call's result — but only if the jti is first used and the
   * grant exists, is `active`, is `claim.clientId`'s and has not expired at `claim.now`. Otherwise
   * nothing is counted and `quota` is absent. A read refused after it was counted is given back with
   * {@link releaseReadQuota}.
   */
  recordJtiAndGetGrant(
    key: string,
    expiresAt: number,
    grantId: string,
    claim?: ReadClaim,
  ): Promise<{
    /** `true` the first time `key` is seen. */
    firstUse: boolean
    /** The grant, or `null` if unknown. */
    grant: Grant | null
    /** The claimed read's count, when it was counted (see above). */
    quota?: ReadQuotaResult
  }>

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
  ): Promise<ReadQuotaResult>
  /**
   * Atomic: gives back one read of `key` counted at `at` (by {@link consumeReadQuota} or a
   * {@link recordJtiAndGetGrant} claim), for a read refused after it was counted. Nothing if there is
   * none.
   */
  releaseReadQuota(key: string, at: number): Promise<void>

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

  // ---- housekeeping ---------------------------------------------------------------------------
  /**
   * Remove unconsumed records with `expiresAt <= now`, consumed records {@link CONSUMED_RECORD_RETENTION_MS}
   * past their `expiresAt` (so a code replay is still reported as reused for a day), expired jtis, old
   * quota rows, and failure windows whose last failure is {@link FAILURE_RETENTION_MS} or more old.
   */
  deleteExpired(now: number): Promise<void>
  /** Release connections and timers. The store is not used afterwards. */
  close(): Promise<void>
}

/** What a single-use record holds. */
/** A read counted in the same step as its jti and grant: see {@link Store.recordJtiAndGetGrant}. */
export interface ReadClaim {
  /** The quota key, as {@link Store.consumeReadQuota} takes it. */
  key: string
  /** The read is counted only for a grant of this client. */
  clientId: string
  /** The read's time (ms since the epoch); the grant must not have expired by then. */
  now: number
  /** Reads allowed in the window, as `consumeReadQuota`'s `limit`. */
  limit: number
  /** The sliding window's length (ms), as `consumeReadQuota`'s `windowMs`. */
  windowMs: number
}

/** What {@link Store.consumeReadQuota} answers. */
export type ReadQuotaResult =
  | {
      /** The read is counted and allowed. */
      allowed: true
      /** Reads in the window, this one included. */
      used: number
    }
  | {
      /** The read is refused. */
      allowed: false
      /** When the oldest counted read leaves the window. */
      retryAfterMs: number
    }

/** The kinds of single-use record ({@link Store.saveRecord}): see docs/store.md. */
export type RecordKind = 'pushed_request' | 'interaction' | 'code' | 'session'

/** A single-use record: a pushed request, an interaction, an authorization code or a session. */
export interface StoredRecord {
  /** What it is. */
  kind: RecordKind
  /** Unique within its kind: the request_uri, the interaction id, the code's hash, the session id's hash. */
  id: string
  /** The record's data: a JSON object, stored and returned as a copy (JSON round trip). */
  value: Record<string, unknown>
  /** Only this party may consume it (the client an authorization code was issued to). Absent: anyone. */
  owner?: string
  /** Epoch ms. Expired when `expiresAt <= now`. */
  expiresAt: number
  /** Epoch ms, set by the first successful `consumeRecord`. */
  consumedAt?: number
}

/**
 * Consumed records are kept this long past their `expiresAt` before `deleteExpired` drops them, so a
 * replayed authorization code is still reported as reused (RFC 9700 §4.5).
 */
export const CONSUMED_RECORD_RETENTION_MS = 86_400_000

/** The validated parameters of a pushed authorization request. */
export interface AuthorizationRequest {
  /** The client that pushed it. */
  clientId: string
  /** The registered redirect URI it named. */
  redirectUri: string
  /** The client's `state`, returned on the redirect. */
  state?: string
  /** PKCE S256 challenge (RFC 7636). */
  codeChallenge: string
  /** The parsed `authorization_details` (RFC 9396). */
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
  /** The grant to change (the client's own, active). */
  grantId: string
  /** `merge` the requested details into the grant, or `replace` them. */
  action: 'merge' | 'replace'
  /**
   * For `merge`: per requested detail, the members the recipient actually sent (zod fills defaults
   * such as `expires_in`; a later expiry or more reads a day are merged in only when asked).
   */
  asked?: string[][]
}

/** A pushed authorization request (RFC 9126), waiting for the browser at `/authorize`. */
export interface PushedRequest {
  /** `urn:ietf:params:oauth:request_uri:…`, single use. */
  requestUri: string
  /** What was pushed. */
  request: AuthorizationRequest
  /** Epoch ms. */
  expiresAt: number
}

/** An authorization in progress in one browser: sign-in, then the consent decision. */
export interface Interaction {
  /** Random id, in the interaction's URL. */
  id: string
  /** The authorization request being decided. */
  request: AuthorizationRequest
  /** Set once the account holder has signed in. */
  subject?: string
  /** The pending grant created when the consent page is first shown. */
  grantId?: string
  /** Binds the browser: a hash of the interaction cookie. */
  cookieHash: string
  /** The consent form's CSRF token. */
  csrf: string
  /** Epoch ms. */
  expiresAt: number
}

/** An authorization code, stored by its hash. */
export interface AuthorizationCode {
  /** SHA-256 of the code (the code itself is never stored). */
  codeHash: string
  /** The client it was issued to. */
  clientId: string
  /** The grant it redeems into. */
  grantId: string
  /** The account holder. */
  subject: string
  /** Must be presented again at the token endpoint. */
  redirectUri: string
  /** PKCE S256 challenge the verifier must match. */
  codeChallenge: string
  /** The DPoP key thumbprint the token request must prove. */
  dpopJkt: string
  /** Epoch ms. */
  expiresAt: number
}

/** A refresh token, stored by its hash. Rotated on every use. */
export interface RefreshTokenRecord {
  /** SHA-256 of the token. */
  tokenHash: string
  /** The grant it refreshes. */
  grantId: string
  /** The client it was issued to. */
  clientId: string
  /** DPoP key the token is bound to (RFC 9449 §5: public clients; we bind for every client). */
  jkt: string
  /** Epoch ms. */
  createdAt: number
  /** Epoch ms. */
  expiresAt: number
  /** When it was rotated (a second use is reuse). */
  usedAt?: number
  /** When it was revoked (with its grant). */
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

/** The changes {@link Store.transitionGrant} applies. */
export interface GrantPatch {
  /** The new status. */
  status?: GrantStatus
  /** The granted details (set at approval, narrowed by the person later). */
  authorizationDetails?: AuthorizationDetail[]
  /** Epoch ms. */
  expiresAt?: number
  /** Epoch ms. */
  updatedAt: number
  /** Epoch ms, when ending it. */
  endedAt?: number
  /** Why it ended, e.g. `revoked_by_subject`. */
  endedReason?: string
}

/** Filters and paging of {@link Store.listAuditEvents}. */
export interface AuditQuery {
  /** Only events with a larger `seq` (paging forward in `seq` order). */
  afterSeq?: number
  /** Only integrated events with a leaf index above this one (index order). */
  afterIndex?: number
  /** Only integrated events with a leaf index below this one (index order). */
  belowIndex?: number
  /** Only events not integrated yet. */
  pending?: boolean
  /** At most this many. */
  limit?: number
  /** Only this grant's events. */
  grantId?: string
  /** Only this account holder's events. */
  subject?: string
  /** Only this client's events. */
  clientId?: string
  /** Only events of these types. */
  types?: string[]
}

/** An event waiting to be pushed to a recipient's webhook. */
export interface OutboxEvent {
  /** Unique event id (`evt_…`). */
  id: string
  /** The recipient. */
  clientId: string
  /** The grant the event is about. */
  grantId: string
  /** The recipient's `webhook_uri` at the time the event was queued. */
  url: string
  /** The signed Security Event Token. */
  body: string
  /** Failed attempts so far. */
  attempts: number
  /** Epoch ms of the next delivery attempt (or the end of a claim's lease). */
  nextAttemptAt: number
  /** Epoch ms. */
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
  /** Epoch ms. */
  createdAt: number
}

/** What the sequencer is handed to seal: the tree size so far, the events to add, the edge nodes. */
export interface AuditBatch {
  /** Leaves already in the tree (`events` get indexes `size`, `size + 1`, …). */
  size: number
  /** The pending events to integrate, in `seq` order. */
  events: AuditEvent[]
  /** The stored nodes `appendPlan(size)` names, in that order. */
  edge: Uint8Array[]
}

/** What the sequencer returns: the new perfect-subtree nodes and the signed checkpoint over them. */
export interface AuditSeal {
  /** Every perfect-subtree node the batch completes (level 0 included), to store. */
  nodes: (NodeId & {
    /** The subtree's hash. */
    hash: Uint8Array
  })[]
  /** The signed checkpoint over the new tree. */
  checkpoint: AuditLogCheckpoint
}

/** A client's logo as fetched from its `logo_uri` and checked (a raster image, at most 256 KiB). */
export interface ClientLogo {
  /** The client it belongs to. */
  clientId: string
  /** `image/png`, `image/jpeg`, `image/gif` or `image/webp`. */
  contentType: string
  /** The image bytes. */
  bytes: Uint8Array
  /** Epoch ms. */
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
  /** SHA-256 of the session id (the cookie value). */
  idHash: string
  /** The signed-in account holder. */
  subject: string
  /** Display name, if known. */
  name?: string
  /** Epoch ms. */
  createdAt: number
  /** Epoch ms. */
  expiresAt: number
}
