import type { AuthorizationDetail, Json } from '@consentry/core'
import type { Context } from '../context.ts'
import type { DataType } from '../data-types/define.ts'

/** "14 Mar 2027" — dates as people read them (UTC, so every instance renders the same). */
export function dateText(ms: number): string {
  return new Date(ms).toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  })
}

/** The served data type of a detail, if any (schema-only extra types have none). */
export function dataTypeOf(ctx: Context, detail: AuthorizationDetail): DataType | undefined {
  return ctx.config.dataTypes.find((t) => t.detail.type === detail.type)
}

/** The details of served data types, each with its type, in request order. */
export function dataDetails(
  ctx: Context,
  details: AuthorizationDetail[],
): Array<{ detail: AuthorizationDetail; dataType: DataType }> {
  return details.flatMap((detail) => {
    const dataType = dataTypeOf(ctx, detail)
    return dataType ? [{ detail, dataType }] : []
  })
}

/** The purpose of a request or grant: its first data-typed detail's. */
export function purposeOf(ctx: Context, details: AuthorizationDetail[]): string | undefined {
  const p = dataDetails(ctx, details)[0]?.detail.purpose
  return typeof p === 'string' ? p : undefined
}

/** The period in words: "1 Sep 2026 to 30 Nov 2026" or "the last 90 days, rolling". */
export function periodText(detail: AuthorizationDetail | undefined): string {
  const p = detail?.period as { from?: string; to?: string; lookback_days?: number } | undefined
  if (!p) return 'No period'
  if (typeof p.lookback_days === 'number')
    return `the last ${p.lookback_days} days (a rolling window, up to each read)`
  return `${dateText(Date.parse(`${p.from}T00:00:00Z`))} to ${dateText(Date.parse(`${p.to}T00:00:00Z`))}`
}

/** How long the grant lives, from its details (the shortest `expires_in`), capped by the holder. */
export function grantLifetimeMs(details: AuthorizationDetail[], maxGrantS: number): number {
  const asked = details.map((d) => d.expires_in).filter((v): v is number => typeof v === 'number')
  return Math.min(maxGrantS, ...(asked.length ? asked : [90 * 86400])) * 1000
}

/**
 * The `grant.approved` event's data: the first data-typed detail's type, scope items, datatypes and
 * fields, the purpose and the end — what was allowed, never any of the data itself.
 */
export function approvalData(
  ctx: Context,
  granted: AuthorizationDetail[],
  expiresAt: number,
): { [key: string]: Json } {
  const first = dataDetails(ctx, granted)[0]
  const member = (m: string | undefined) =>
    first && m && Array.isArray(first.detail[m]) ? (first.detail[m] as string[]) : []
  return {
    ...(first ? { type: first.dataType.detail.type } : {}),
    [first?.dataType.detail.scope?.member ?? 'accounts']: member(first?.dataType.detail.scope?.member),
    datatypes: member('datatypes'),
    fields: member(first?.dataType.detail.fieldsMember ?? 'fields'),
    purpose: purposeOf(ctx, granted) ?? null,
    expires_at: new Date(expiresAt).toISOString(),
  }
}
