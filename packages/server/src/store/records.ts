import type {
  AuthorizationCode,
  AuthorizationRequest,
  Interaction,
  PushedRequest,
  SessionRecord,
  Store,
  StoredRecord,
} from './store.ts'

/**
 * The server's typed view of the store's generic single-use records ({@link StoredRecord}): what each
 * kind keeps as its id, owner and value. Every endpoint reads and writes pushed requests,
 * interactions, authorization codes and sessions through these functions, never through
 * `saveRecord`/`consumeRecord` directly, so the mapping lives in one place.
 *
 * - pushed request (RFC 9126): id = request_uri, value = `{ request }`
 * - interaction: id = its random id, value = the {@link Interaction}
 * - authorization code: id = the code's hash, owner = the client it was issued to, value = the
 *   {@link AuthorizationCode}
 * - session: id = the session id's hash, value = the {@link SessionRecord}
 */

/** A value type as the JSON object a record holds. */
const asValue = (value: object) => value as Record<string, unknown>
/** A record's value as the type it was saved as (the store returns a JSON copy of it). */
const valueAs = <T>(record: StoredRecord) => record.value as unknown as T

/** Keep a pushed authorization request until it is consumed at `/authorize` or expires. */
export function savePushedRequest(store: Store, pushed: PushedRequest): Promise<void> {
  return store.saveRecord({
    kind: 'pushed_request',
    id: pushed.requestUri,
    value: { request: pushed.request },
    expiresAt: pushed.expiresAt,
  })
}

/** The pushed request, the first time it is asked for while unexpired; `null` ever after (single use). */
export async function consumePushedRequest(
  store: Store,
  requestUri: string,
  now: number,
): Promise<PushedRequest | null> {
  const consumed = await store.consumeRecord('pushed_request', requestUri, now)
  if (consumed?.status !== 'ok') return null
  const { request } = valueAs<{ request: AuthorizationRequest }>(consumed.record)
  return { requestUri, request, expiresAt: consumed.record.expiresAt }
}

/** Store an interaction, or update it (same id) while it is not consumed. */
export function saveInteraction(store: Store, ix: Interaction): Promise<void> {
  return store.saveRecord({ kind: 'interaction', id: ix.id, value: asValue(ix), expiresAt: ix.expiresAt })
}

/** The interaction, or `null` if unknown, expired or already decided. */
export async function getInteraction(store: Store, id: string, now: number): Promise<Interaction | null> {
  const found = await store.findRecord('interaction', id, now)
  return found ? valueAs<Interaction>(found) : null
}

/** Take the consent decision once: the interaction the first time, `null` for a double submit. */
export async function consumeInteraction(store: Store, id: string, now: number): Promise<Interaction | null> {
  const consumed = await store.consumeRecord('interaction', id, now)
  return consumed?.status === 'ok' ? valueAs<Interaction>(consumed.record) : null
}

/** Store an authorization code (by its hash), redeemable once and only by its own client. */
export function saveCode(store: Store, code: AuthorizationCode): Promise<void> {
  return store.saveRecord({
    kind: 'code',
    id: code.codeHash,
    owner: code.clientId,
    value: asValue(code),
    expiresAt: code.expiresAt,
  })
}

/**
 * Redeem a code for `clientId`: `ok` the first time, `reused` ever after (RFC 9700 §4.5: revoke what
 * it issued), `wrong_client` when it was issued to another client (left untouched, so its owner still
 * redeems it), `null` when unknown or expired unused.
 */
export async function consumeCode(
  store: Store,
  codeHash: string,
  now: number,
  clientId: string,
): Promise<{ status: 'ok' | 'reused' | 'wrong_client'; code: AuthorizationCode } | null> {
  const consumed = await store.consumeRecord('code', codeHash, now, clientId)
  if (!consumed) return null
  const code = valueAs<AuthorizationCode>(consumed.record)
  if (consumed.status === 'wrong_owner') return { status: 'wrong_client', code }
  return { status: consumed.status === 'consumed' ? 'reused' : 'ok', code }
}

/** Store a new built-in sign-in session (its id arrives hashed). */
export function createSession(store: Store, session: SessionRecord): Promise<void> {
  return store.saveRecord({
    kind: 'session',
    id: session.idHash,
    value: asValue(session),
    expiresAt: session.expiresAt,
  })
}

/** The session, or `null` if unknown, expired or ended. */
export async function getSession(store: Store, idHash: string, now: number): Promise<SessionRecord | null> {
  const found = await store.findRecord('session', idHash, now)
  return found ? valueAs<SessionRecord>(found) : null
}

/** End a session (sign-out): every instance sharing the store sees it gone at once. */
export function deleteSession(store: Store, idHash: string): Promise<void> {
  return store.deleteRecord('session', idHash)
}
