import type { AuthorizationDetail, TransactionHistoryDetail } from '@consentry/core'

const DAY = 86_400_000

/** "14 Mar 2027" — dates as people read them (UTC, so every instance renders the same). */
export function dateText(ms: number): string {
  return new Date(ms).toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  })
}

export const isTransactionHistory = (
  d: AuthorizationDetail,
): d is TransactionHistoryDetail & AuthorizationDetail => d.type === 'transaction_history'

/** The first `transaction_history` detail of a request or grant, if any. */
export const historyDetail = (details: AuthorizationDetail[]) => details.find(isTransactionHistory)

/** The period in words: "1 Sep 2026 to 30 Nov 2026" or "the last 90 days, rolling". */
export function periodText(detail: TransactionHistoryDetail | undefined): string {
  const p = detail?.period
  if (!p) return 'No transactions'
  if ('lookback_days' in p) return `the last ${p.lookback_days} days (a rolling window, up to each read)`
  return `${dateText(Date.parse(`${p.from}T00:00:00Z`))} to ${dateText(Date.parse(`${p.to}T00:00:00Z`))}`
}

/** The UTC date range a grant covers at `now`: absolute periods as given, lookbacks ending today. */
export function consentedRange(
  detail: TransactionHistoryDetail,
  now: number,
): { from: string; to: string } | null {
  const p = detail.period
  if (!p) return null
  if ('from' in p) return { from: p.from, to: p.to }
  const today = new Date(now).toISOString().slice(0, 10)
  const from = new Date(Date.parse(`${today}T00:00:00Z`) - (p.lookback_days - 1) * DAY)
    .toISOString()
    .slice(0, 10)
  return { from, to: today }
}

/** How long the grant lives, from its details (the shortest `expires_in`), capped by the holder. */
export function grantLifetimeMs(details: AuthorizationDetail[], maxGrantS: number): number {
  const asked = details.map((d) => d.expires_in).filter((v): v is number => typeof v === 'number')
  return Math.min(maxGrantS, ...(asked.length ? asked : [90 * 86400])) * 1000
}
