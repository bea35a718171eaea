import { type AuthorizationDetail, isoDate } from '@consentry/core'
import type { DateRange } from '../data-types/define.ts'
import { ProblemError } from '../errors.ts'

const DAY = 86_400_000

/**
 * The UTC date range a detail's `period` covers at `now`: absolute periods as given, lookbacks
 * (`lookback_days`) ending today. Null when the detail has no period.
 */
export function consentedPeriod(detail: AuthorizationDetail, now: number): DateRange | null {
  const p = detail.period as { from?: string; to?: string; lookback_days?: number } | undefined
  if (!p || typeof p !== 'object') return null
  if (typeof p.from === 'string' && typeof p.to === 'string') return { from: p.from, to: p.to }
  if (typeof p.lookback_days !== 'number') return null
  const today = new Date(now).toISOString().slice(0, 10)
  const from = new Date(Date.parse(`${today}T00:00:00Z`) - (p.lookback_days - 1) * DAY)
    .toISOString()
    .slice(0, 10)
  return { from, to: today }
}

/** check_query_dates: `from` and `to`, when given, are calendar dates (YYYY-MM-DD). */
export function checkQueryDates(query: URLSearchParams): void {
  for (const p of ['from', 'to'] as const)
    if (query.has(p) && !isoDate.safeParse(query.get(p)).success)
      throw new ProblemError('invalid_parameter', `${p} must be a date as YYYY-MM-DD`)
}

/**
 * check_consented_period: what is asked, clamped to what was consented (re-clamped on every page, so
 * a period narrowed mid-listing applies to the next page); an empty result is 403 `outside_consent`.
 */
export function clampPeriod(consented: DateRange | null, asked: Partial<DateRange>): DateRange {
  if (!consented) throw new ProblemError('outside_consent', 'this grant covers no period')
  const from = asked.from && asked.from > consented.from ? asked.from : consented.from
  const to = asked.to && asked.to < consented.to ? asked.to : consented.to
  if (from > to)
    throw new ProblemError('outside_consent', `the consented period is ${consented.from} to ${consented.to}`)
  return { from, to }
}
