import { base64url } from 'jose'
import type { Context } from '../context.ts'
import { ProblemError } from '../errors.ts'
import { hmac, timingSafeEqual } from '../tokens/random.ts'

/** Where a listing continues: bound to the grant, the account and the period it started with. */
export interface CursorState {
  grantId: string
  accountId: string
  from: string
  to: string
  before: { bookedAt: string; id: string }
  /** Page number, for the audit trail. */
  page: number
}

/** An opaque, tamper-proof cursor: the state, MAC'd with a secret every instance shares. */
export async function encodeCursor(ctx: Context, state: CursorState): Promise<string> {
  const body = base64url.encode(
    JSON.stringify([
      state.grantId,
      state.accountId,
      state.from,
      state.to,
      state.before.bookedAt,
      state.before.id,
      state.page,
    ]),
  )
  return `${body}.${await hmac(ctx.secrets.cursor, `cursor:${body}`)}`
}

export async function decodeCursor(ctx: Context, cursor: string): Promise<CursorState> {
  const invalid = new ProblemError(
    'invalid_cursor',
    'the cursor is not one this server issued, or was altered',
  )
  const [body, mac, extra] = cursor.split('.')
  if (!body || !mac || extra !== undefined || cursor.length > 2048) throw invalid
  if (!timingSafeEqual(mac, await hmac(ctx.secrets.cursor, `cursor:${body}`))) throw invalid
  try {
    const [grantId, accountId, from, to, bookedAt, id, page] = JSON.parse(
      new TextDecoder().decode(base64url.decode(body)),
    )
    return { grantId, accountId, from, to, before: { bookedAt, id }, page }
  } catch {
    throw invalid
  }
}
