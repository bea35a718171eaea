import type { Context } from '../context.ts'
import { ProblemError } from '../errors.ts'
import { hmac, timingSafeEqual } from '../tokens/random.ts'

/**
 * How long a cursor can be used after it was issued. Pages fetched with a cursor are not counted as
 * reads (they belong to the listing that started them), so a cursor must not be kept and replayed
 * later as a free read: past this, start the listing again (which counts).
 */
export const CURSOR_LIFETIME_MS = 15 * 60_000

/**
 * Where a listing continues: bound to the grant, the route (`type.name`), its scope id (account,
 * store) and the period it started with.
 */
export interface CursorState {
  grantId: string
  route: string
  scopeId: string
  from: string
  to: string
  before: { at: string; id: string }
  /** Page number, for the audit trail. */
  page: number
}

/**
 * An opaque, tamper-proof cursor: the state and its issue time (`ctx.now()`), MAC'd with a secret
 * every instance shares.
 */
export async function encodeCursor(ctx: Context, state: CursorState): Promise<string> {
  const body = Buffer.from(
    JSON.stringify([
      state.grantId,
      state.route,
      state.scopeId,
      state.from,
      state.to,
      state.before.at,
      state.before.id,
      state.page,
      ctx.now(),
    ]),
  ).toString('base64url')
  return `${body}.${await hmac(ctx.secrets.cursor, `cursor:${body}`)}`
}

/**
 * The state of a cursor this server issued, unaltered and at most {@link CURSOR_LIFETIME_MS} old;
 * anything else is a 400 `invalid_cursor` problem.
 */
export async function decodeCursor(ctx: Context, cursor: string): Promise<CursorState> {
  const invalid = new ProblemError(
    'invalid_cursor',
    'the cursor is not one this server issued, or was altered',
  )
  const [body, mac, extra] = cursor.split('.')
  if (!body || !mac || extra !== undefined || cursor.length > 2048) throw invalid
  if (!timingSafeEqual(mac, await hmac(ctx.secrets.cursor, `cursor:${body}`))) throw invalid
  let state: CursorState
  let issuedAt: unknown
  try {
    const [grantId, route, scopeId, from, to, at, id, page, iat] = JSON.parse(
      Buffer.from(body, 'base64url').toString('utf8'),
    )
    state = { grantId, route, scopeId, from, to, before: { at, id }, page }
    issuedAt = iat
  } catch {
    throw invalid
  }
  if (typeof issuedAt !== 'number' || ctx.now() - issuedAt > CURSOR_LIFETIME_MS)
    throw new ProblemError(
      'invalid_cursor',
      `the cursor has expired (cursors last ${CURSOR_LIFETIME_MS / 60_000} minutes); start the listing again without a cursor`,
    )
  return state
}
