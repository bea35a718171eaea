import type { Context } from '../context.ts'
import type { EnforcedRead } from '../data-types/define.ts'
import { ProblemError } from '../errors.ts'
import type { ReadClaim, ReadQuotaResult } from '../store/store.ts'
import { CUSTOMER_PRESENT } from './customer-present.ts'

/** Attended reads are counted apart from unattended ones, in their own window. */
const quotaKey = (attended: boolean, grantId: string) => (attended ? `attended:${grantId}` : grantId)

/**
 * An attended read counted ahead, in the same store step as its proof's jti and its grant
 * (`Store.recordJtiAndGetGrant` with a claim): one round trip instead of two. check_read_quota takes
 * its answer instead of counting again; a request refused before that point gives the read back
 * ({@link releaseUntaken}), so refused requests still count nothing.
 */
export class CountedRead {
  quota: ReadQuotaResult | undefined
  #taken = false
  constructor(readonly claim: ReadClaim) {}
  /** The answer, once: the read is now check_read_quota's. */
  take(): ReadQuotaResult {
    this.#taken = true
    return this.quota!
  }
  /**
   * Give the read back if it was counted and check_read_quota never took it. Never throws: the
   * request's own answer (its refusal) stands, and a store failing to take the read back is reported
   * (`onError`) and leaves it counted — one read too many, never one too few.
   */
  async releaseUntaken(ctx: Context): Promise<void> {
    if (this.#taken || this.quota?.allowed !== true) return
    this.#taken = true
    try {
      await ctx.store.releaseReadQuota(this.claim.key, this.claim.now)
    } catch (e) {
      ctx.config.onError(e, { area: 'resource', event: 'read_quota.release_failed' })
    }
  }
}

/**
 * The claim for an attended read's count, made before the grant is read: the person-present header
 * is there (it is validated later; a bad one is refused and the read given back) and the request is
 * not a listing's later page (`cursor`: those are not counted). Unattended reads are counted by
 * check_read_quota: their limit is in the consent, known only from the grant.
 */
export function attendedClaim(
  ctx: Context,
  request: Request,
  url: URL,
  grantId: string,
  clientId: string,
): CountedRead | undefined {
  if (!request.headers.has(CUSTOMER_PRESENT) || url.searchParams.get('cursor')) return undefined
  return new CountedRead({
    key: quotaKey(true, grantId),
    clientId,
    now: ctx.now(),
    limit: ctx.config.attendedReadsPerDay,
    windowMs: ctx.config.readWindowMs,
  })
}

/**
 * check_read_quota: one counted read. Unattended reads count against the consented
 * `max_reads_per_day`; attended ones against the holder's `attendedReadsPerDay`, in their own sliding
 * window, because the server cannot verify that the person is really there: a recipient that always
 * says so is still bounded. Over the limit: 429 `read_limit_exceeded` with `Retry-After`, audited as
 * `data.read_refused`.
 */
export async function checkReadQuota(
  ctx: Context,
  r: EnforcedRead,
  resource: Record<string, unknown>,
  counted?: CountedRead,
): Promise<void> {
  const consented = r.detail.max_reads_per_day
  const limit = r.attended
    ? ctx.config.attendedReadsPerDay
    : typeof consented === 'number' && consented >= 0
      ? consented
      : 0
  const quota =
    counted?.quota && r.attended
      ? counted.take()
      : await ctx.store.consumeReadQuota(
          quotaKey(r.attended, r.grantId),
          ctx.now(),
          limit,
          ctx.config.readWindowMs,
          // An allowed read is audited (a synchronous write) before any data leaves.
          { flushedByNextWrite: true },
        )
  if (quota.allowed) return
  const retryAfter = Math.ceil(quota.retryAfterMs / 1000)
  await ctx.audit.record({
    type: 'data.read_refused',
    actor: { type: 'client', id: r.clientId },
    grantId: r.grantId,
    clientId: r.clientId,
    subject: r.subject,
    data: { ...resource, attended: r.attended, reason: 'read_limit_exceeded' },
  })
  throw new ProblemError(
    'read_limit_exceeded',
    r.attended
      ? `at most ${limit} reads a day are served while the app says the person is using it`
      : `at most ${limit} unattended reads per day were consented`,
    { 'retry-after': String(retryAfter) },
    { retry_after: retryAfter },
  )
}
