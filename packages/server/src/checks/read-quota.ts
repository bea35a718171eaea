import type { Context } from '../context.ts'
import type { EnforcedRead } from '../data-types/define.ts'
import { ProblemError } from '../errors.ts'

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
): Promise<void> {
  const consented = r.detail.max_reads_per_day
  const limit = r.attended
    ? ctx.config.attendedReadsPerDay
    : typeof consented === 'number' && consented >= 0
      ? consented
      : 0
  const quota = await ctx.store.consumeReadQuota(
    r.attended ? `attended:${r.grantId}` : r.grantId,
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
