import type { Context } from '../context.ts'
import { hmac } from './random.ts'

/**
 * The pairwise subject identifier (OpenID Connect Core §8.1) a recipient sees for a person: what
 * goes in `sub` of its access tokens, introspection answers and consent receipts.
 *
 * `base64url(HMAC-SHA256(pairwise secret, client_id || 0x00 || subject))`. The sector is the
 * `client_id` — the strictest choice: two recipients (even two registrations of one company) cannot
 * correlate a person by `sub`, and cannot learn the holder's own account identifier. The secret is
 * generated once and kept in the store, shared by every instance, so the value is stable across
 * instances, restarts and re-links. Internally the server always uses the grant's stored subject.
 *
 * @example
 * ```ts
 * const sub = await pairwiseSubject(ctx, grant.clientId, grant.subject)
 * ```
 */
export function pairwiseSubject(ctx: Context, clientId: string, subject: string): Promise<string> {
  return hmac(ctx.secrets.pairwise, `${clientId}\0${subject}`)
}
