/**
 * The narrowing choices beyond ticking boxes: a shorter period, an earlier end, fewer reads a day —
 * offered on the consent page (period, end) and on the dashboard's change form (all three). Every
 * choice is a select whose options the server computes again when the form comes back, so the
 * person can only pick what was offered: never wider than what was asked or granted.
 */
import type { AuthorizationDetail } from '@consentry/core'
import type { Form } from '../http/body.ts'
import { readsPerDayText } from '../pages/labels.ts'
import { spanText, spanWords } from './amend.ts'
import { dateText } from './describe.ts'

const DAY = 86_400_000
/** Shorter lookbacks and windows offered, in days. */
const PERIOD_STEPS = [7, 30, 90, 180, 365, 730]
/** Earlier ends offered, in days from now. */
const EXPIRY_STEPS = [1, 7, 30, 90, 180]
/** Lower unattended reads a day offered. */
const READ_STEPS = [0, 1, 2, 4, 8, 24]

type Period = { from: string; to: string } | { lookback_days: number }

/** One option of a select. */
export interface SelectOption {
  value: string
  label: string
  selected: boolean
}

/** An accessible select (label, hint, options) the pages render; `name` is the form field. */
export interface SelectControl {
  name: string
  label: string
  hint?: string
  options: SelectOption[]
}

const isLookback = (p: Period): p is { lookback_days: number } => 'lookback_days' in p
const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`)
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const periodValue = (p: Period) => (isLookback(p) ? `lookback:${p.lookback_days}` : `dates:${p.from}:${p.to}`)

/** A period as a choice: "The last 3 months", "1 Sep 2026 to 30 Nov 2026". */
function periodLabel(p: Period): string {
  return isLookback(p)
    ? `The last ${spanWords(p.lookback_days)}`
    : `${dateText(dayMs(p.from))} to ${dateText(dayMs(p.to))}`
}

/** `period` and the shorter periods inside it: shorter lookbacks, or the last days of the dates. */
export function periodOptions(period: Period): Array<{ value: string; label: string; period: Period }> {
  const out = [{ value: periodValue(period), label: periodLabel(period), period }]
  if (isLookback(period)) {
    for (const n of [...PERIOD_STEPS].reverse())
      if (n < period.lookback_days)
        out.push({ value: `lookback:${n}`, label: `The last ${spanWords(n)}`, period: { lookback_days: n } })
  } else {
    const days = Math.round((dayMs(period.to) - dayMs(period.from)) / DAY) + 1
    for (const n of [...PERIOD_STEPS].reverse())
      if (n < days) {
        const p = { from: isoDay(dayMs(period.to) - (n - 1) * DAY), to: period.to }
        out.push({ value: periodValue(p), label: `${periodLabel(p)} (the last ${spanWords(n)})`, period: p })
      }
  }
  return out
}

/** The period select of a section (absent when the detail has no period or nothing shorter). */
export function periodControl(
  detail: AuthorizationDetail,
  prefix: string,
  current: 'asked' | 'now',
): SelectControl | undefined {
  const period = detail.period as Period | undefined
  if (!period) return undefined
  const options = periodOptions(period)
  if (options.length < 2) return undefined
  return {
    name: `${prefix}period`,
    label: 'Period',
    hint: 'Choose a shorter period if you prefer.',
    options: options.map((o, i) => ({
      value: o.value,
      label: i === 0 ? `${o.label} (${current === 'asked' ? 'as asked' : 'as now'})` : o.label,
      selected: i === 0,
    })),
  }
}

/** `until` and the earlier ends offered (days from `now`): "For 1 week, until 9 Dec 2026". */
export function expiryOptions(
  until: number,
  now: number,
): Array<{ value: string; label: string; at: number }> {
  const out = [{ value: 'keep', label: `Until ${dateText(until)}`, at: until }]
  for (const d of [...EXPIRY_STEPS].reverse()) {
    const at = now + d * DAY
    if (at < until - DAY)
      out.push({ value: `days:${d}`, label: `For ${spanText(d)}, until ${dateText(at)}`, at })
  }
  return out
}

/** The select of the grant's end. */
export function expiryControl(until: number, now: number, current: 'asked' | 'now'): SelectControl {
  return {
    name: 'expires',
    label: 'Access until',
    hint: 'Choose an earlier end if you prefer; you can also revoke at any time.',
    options: expiryOptions(until, now).map((o, i) => ({
      value: o.value,
      label: i === 0 ? `${o.label} (${current === 'asked' ? 'as asked' : 'as now'})` : o.label,
      selected: i === 0,
    })),
  }
}

/** The select of unattended reads a day (the dashboard's change form). */
export function readsControl(
  detail: AuthorizationDetail,
  prefix: string,
  client: string,
): SelectControl | undefined {
  const n = detail.max_reads_per_day
  if (typeof n !== 'number') return undefined
  const values = [n, ...[...READ_STEPS].reverse().filter((v) => v < n)]
  const label = (v: number) => {
    const text = readsPerDayText(v)
    return v > 0 ? text.charAt(0).toUpperCase() + text.slice(1) : `Never: only while you are using ${client}`
  }
  return {
    name: `${prefix}max_reads_per_day`,
    label: `Checks without you`,
    hint: `How often ${client} may check for updates while you are not using it.`,
    options: values.map((v, i) => ({
      value: String(v),
      label: i === 0 ? `${label(v)} (as now)` : label(v),
      selected: i === 0,
    })),
  }
}

/**
 * Apply the person's period (`{prefix}period`) and, with `reads`, reads-a-day choices
 * (`{prefix}max_reads_per_day`) to data-typed details (`prefixOf(i)` gives detail i's prefix, or
 * `undefined` for details without a section). Absent fields keep what is there. Returns the details,
 * or the sentence to show when a value was not one of the options.
 */
export function applyDetailChoices(
  details: AuthorizationDetail[],
  form: Form,
  prefixOf: (i: number) => string | undefined,
  o: { reads?: boolean } = {},
): AuthorizationDetail[] | string {
  const out: AuthorizationDetail[] = []
  for (const [i, detail] of details.entries()) {
    const p = prefixOf(i)
    const next = { ...detail }
    if (p !== undefined) {
      const chosen = form.get(`${p}period`)
      if (chosen !== undefined && detail.period) {
        const option = periodOptions(detail.period as Period).find((x) => x.value === chosen)
        if (!option) return 'Choose one of the periods offered.'
        next.period = option.period
      }
      const reads = form.get(`${p}max_reads_per_day`)
      if (o.reads && reads !== undefined && typeof detail.max_reads_per_day === 'number') {
        const n = Number(reads)
        if (!/^\d{1,4}$/.test(reads) || n > detail.max_reads_per_day)
          return 'Choose one of the numbers of reads offered.'
        next.max_reads_per_day = n
      }
    }
    out.push(next)
  }
  return out
}

/**
 * The grant's end after the person's choice (`expires`): `until` when kept or absent, else the
 * earlier end offered. Every detail's `expires_in` then says no more than what is left from `now`.
 */
export function applyExpiryChoice(
  details: AuthorizationDetail[],
  form: Form,
  until: number,
  now: number,
): { details: AuthorizationDetail[]; expiresAt: number } | string {
  const chosen = form.get('expires')
  if (chosen === undefined || chosen === 'keep') return { details, expiresAt: until }
  const option = expiryOptions(until, now).find((x) => x.value === chosen)
  if (!option) return 'Choose one of the end dates offered.'
  const left = Math.ceil((option.at - now) / 1000)
  return {
    details: details.map((d) =>
      typeof d.expires_in === 'number' && d.expires_in > left ? { ...d, expires_in: left } : d,
    ),
    expiresAt: option.at,
  }
}
