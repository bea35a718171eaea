/**
 * Amending a grant, as pure functions over authorization details: what a Grant Management `merge` or
 * `replace` proposes, what changes (the "Adds:" / "Removes:" lines of the consent page), and whether
 * a change only narrows (what the person may do alone, on the dashboard). Generic over data types:
 * they work on the members every data-typed detail shares — the scope member (`accounts`, `stores`),
 * `datatypes`, the fields member (`fields`, `metrics`), `period`, `expires_in`, `max_reads_per_day`,
 * `purpose` — and word things with the type's {@link DataTypeWords}.
 */
import type { AuthorizationDetail, DetailType } from '@consentry/core'
import type { DataTypeWords } from '../data-types/define.ts'

const DAY = 86_400_000

/** Grant Management actions a recipient may push (FAPI Grant Management §5.2). */
export type GrantManagementAction = 'merge' | 'replace'
/** Every way a grant changes: the recipient's `merge`/`replace`, or the person's `narrow`. */
export type AmendAction = GrantManagementAction | 'narrow'

/** Where a detail type keeps its lists (see `DetailType.scope` and `DetailType.fieldsMember`). */
export interface DetailShape {
  /** The scope member (`accounts`, `stores`), when the type has one. */
  scope?: string
  /** The fields member (`fields`, `metrics`). Absent from a detail: every declared field. */
  fields: string
}

/** The shape of `type` from the holder's detail types. */
export function shapeOf(types: readonly DetailType[], type: string): DetailShape {
  const t = types.find((x) => x.type === type)
  return { ...(t?.scope ? { scope: t.scope.member } : {}), fields: t?.fieldsMember ?? 'fields' }
}

/** The list members of a detail, in the order they are worded. */
const listMembers = (shape: DetailShape) => [...(shape.scope ? [shape.scope] : []), 'datatypes', shape.fields]

type Period = { from: string; to: string } | { lookback_days: number }

const isPeriod = (p: unknown): p is Period =>
  !!p &&
  typeof p === 'object' &&
  (typeof (p as { lookback_days?: unknown }).lookback_days === 'number' ||
    (typeof (p as { from?: unknown }).from === 'string' && typeof (p as { to?: unknown }).to === 'string'))

const isLookback = (p: Period): p is { lookback_days: number } => 'lookback_days' in p

/** The UTC date range a period covers at `now` (lookbacks end today). */
export function periodRange(p: Period, now: number): { from: string; to: string } {
  if (!isLookback(p)) return { from: p.from, to: p.to }
  const today = new Date(now).toISOString().slice(0, 10)
  const from = new Date(Date.parse(`${today}T00:00:00Z`) - (p.lookback_days - 1) * DAY)
  return { from: from.toISOString().slice(0, 10), to: today }
}

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined

const union = (a: string[], b: string[]) => [...new Set([...a, ...b])]

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * `merge` (FAPI Grant Management §3.2): the requested details merged into the granted ones. Per type:
 * the union of scope, `datatypes` and fields (granted fields left open stay open; a request that
 * leaves them out asks for no more of them); a longer period, a later expiry (`expires_in`) and more reads a day only when the recipient
 * asked for them (`asked[i]` lists the members request `i` really sent; absent: all of them); any
 * other list is united, any other member taken from the request only when asked. A type not granted
 * yet is added as requested.
 *
 * @example
 * ```ts
 * mergeDetails(grant.authorizationDetails, [{ ...detail, accounts: ['acc_3'] }], (t) => shapeOf(types, t))
 * ```
 */
export function mergeDetails(
  granted: readonly AuthorizationDetail[],
  requested: readonly AuthorizationDetail[],
  shape: (type: string) => DetailShape,
  asked?: readonly (readonly string[])[],
): AuthorizationDetail[] {
  const out = structuredClone(granted) as AuthorizationDetail[]
  requested.forEach((r, i) => {
    const at = out.findIndex((g) => g.type === r.type)
    if (at === -1) {
      out.push(structuredClone(r))
      return
    }
    const g = out[at]!
    const s = shape(r.type)
    const sent = (member: string) => (asked?.[i] ? asked[i]!.includes(member) : member in r)
    const merged: AuthorizationDetail = { ...g }
    for (const [member, value] of Object.entries(r)) {
      if (member === 'type' || !sent(member)) continue
      const before = g[member]
      if (member === s.fields) {
        // Absent means every field: the union with "all" is "all".
        if (before === undefined) continue
        merged[member] = union(strings(before) ?? [], strings(value) ?? [])
      } else if (member === 'period') {
        merged.period = longerPeriod(before, value)
      } else if (typeof value === 'number' && typeof before === 'number') {
        merged[member] = Math.max(before, value)
      } else if (Array.isArray(value) && Array.isArray(before)) {
        merged[member] = union(strings(before) ?? [], strings(value) ?? [])
      } else if (before === undefined || !listMembers(s).includes(member)) {
        merged[member] = structuredClone(value)
      }
    }
    out[at] = merged
  })
  return out
}

/** The longer of two periods of the same kind (lookbacks: the longer one; dates: the hull). */
function longerPeriod(a: unknown, b: unknown): unknown {
  if (!isPeriod(a)) return structuredClone(b)
  if (!isPeriod(b)) return structuredClone(a)
  if (isLookback(a) && isLookback(b)) return { lookback_days: Math.max(a.lookback_days, b.lookback_days) }
  if (!isLookback(a) && !isLookback(b))
    return { from: a.from < b.from ? a.from : b.from, to: a.to > b.to ? a.to : b.to }
  // Rolling and fixed do not combine (refused when the request is pushed): keep what is granted.
  return structuredClone(a)
}

/**
 * Why `requested` cannot be merged into `granted`, or `null`: a merge never changes the purpose (that
 * is a `replace`), and cannot combine a rolling period with fixed dates.
 */
export function mergeProblem(
  granted: readonly AuthorizationDetail[],
  requested: readonly AuthorizationDetail[],
): string | null {
  for (const [i, r] of requested.entries()) {
    const g = granted.find((d) => d.type === r.type)
    if (!g) continue
    if ('purpose' in r && 'purpose' in g && r.purpose !== g.purpose)
      return `authorization_details[${i}]: merge cannot change the purpose (use replace)`
    if (isPeriod(r.period) && isPeriod(g.period) && isLookback(r.period) !== isLookback(g.period))
      return `authorization_details[${i}]: merge cannot combine a rolling period with fixed dates (use replace)`
  }
  return null
}

/**
 * Fill in the scope of details that leave it to the person (no scope member): the ids `owned(type)`
 * — every one offered, as on a first consent page.
 */
export function resolveScope(
  details: readonly AuthorizationDetail[],
  shape: (type: string) => DetailShape,
  owned: (type: string) => readonly string[],
): AuthorizationDetail[] {
  return details.map((d) => {
    const member = shape(d.type).scope
    if (!member || Array.isArray(d[member])) return structuredClone(d)
    return { ...structuredClone(d), [member]: [...owned(d.type)] }
  })
}

/** Options of {@link amendedExpiry}. */
export interface ExpiryRule {
  /** The holder's cap on a grant's lifetime, seconds (`lifetimes.maxGrant`). */
  maxGrantS: number
  /**
   * Where the cap counts from: `renewal` (default) — each approved change that asks for an expiry is
   * a fresh decision of the person, so the cap counts from it; `grant` — from the day the grant was
   * first given, so a grant can never outlive it and must be given anew.
   */
  capFrom: 'renewal' | 'grant'
}

/**
 * The grant's end after an approved `merge` or `replace` at `now`: the requested `expires_in` (the
 * shortest, like a first consent) counted from now and capped by the holder; `merge` only moves it
 * later, and only when asked; `replace` sets it.
 */
export function amendedExpiry(
  action: GrantManagementAction,
  grant: { createdAt: number; expiresAt: number },
  requested: readonly AuthorizationDetail[],
  now: number,
  rule: ExpiryRule,
  asked?: readonly (readonly string[])[],
): number {
  const lifetimes = requested
    .filter((_, i) => action === 'replace' || !asked?.[i] || asked[i]!.includes('expires_in'))
    .map((d) => d.expires_in)
    .filter((v): v is number => typeof v === 'number')
  if (!lifetimes.length) return action === 'merge' ? grant.expiresAt : now + Math.min(90 * DAY, cap())
  const wanted = now + Math.min(...lifetimes) * 1000
  const capped = Math.min(wanted, cap())
  return action === 'merge' ? Math.max(grant.expiresAt, capped) : capped

  function cap() {
    return (rule.capFrom === 'grant' ? grant.createdAt : now) + rule.maxGrantS * 1000
  }
}

/** What the change words need beyond the details. */
export interface DiffContext {
  /** The type's words (labels of datatypes and fields, scope nouns, title). */
  words(type: string): DataTypeWords | undefined
  shape(type: string): DetailShape
  /** The person's name for a scope id ("Rainy Day Savings"); the id itself when unknown. */
  scopeName(type: string, id: string): string
  purposeLabel(id: string): string
  /** A date as people read it ("14 Mar 2027"). */
  dateText(ms: number): string
  now: number
}

/** A change in plain words: each list becomes one line, "Adds: …", "Removes: …", "Changes: …". */
export interface DetailsDiff {
  adds: string[]
  removes: string[]
  changes: string[]
}

/** "month", "3 months", "year", "2 weeks" — a span after "the last" or "the oldest". */
export const spanWords = (days: number): string => spanText(days).replace(/^1 /, '')

/** "3 months", "1 year", "2 weeks", "10 days"; with `more`: "3 more months". */
export function spanText(days: number, more = false): string {
  const [n, unit] =
    days % 365 === 0
      ? [days / 365, 'year']
      : days % 30 === 0
        ? [days / 30, 'month']
        : days % 7 === 0
          ? [days / 7, 'week']
          : [days, 'day']
  return `${n} ${more ? 'more ' : ''}${unit}${n === 1 ? '' : 's'}`
}

const dayMs = (date: string) => Date.parse(`${date}T00:00:00Z`)
const shiftDay = (date: string, days: number) => new Date(dayMs(date) + days * DAY).toISOString().slice(0, 10)

/**
 * The change from `before` to `after` (and from one end of the grant to the other) in the person's
 * words, generic over data types: periods, scope items by name, datatypes and fields by their labels,
 * the end of access, reads a day without the person, the purpose, and whole types added or dropped.
 *
 * @example
 * ```ts
 * const { adds, removes } = diffDetails(granted, proposed, grant.expiresAt, expiresAt, context)
 * // adds: ['3 more months of history', 'Rainy Day Savings'], removes: ['Description']
 * ```
 */
export function diffDetails(
  before: readonly AuthorizationDetail[],
  after: readonly AuthorizationDetail[],
  expiresBefore: number,
  expiresAfter: number,
  c: DiffContext,
): DetailsDiff {
  const diff: DetailsDiff = { adds: [], removes: [], changes: [] }
  const types = [...new Set([...before, ...after].map((d) => d.type))]
  const several = types.length > 1
  for (const type of types) {
    const b = before.find((d) => d.type === type)
    const a = after.find((d) => d.type === type)
    const w = c.words(type)
    const title = w?.title ?? type
    const tag = (text: string) => (several ? `${title}: ${text}` : text)
    if (!b) {
      diff.adds.push(title)
      continue
    }
    if (!a) {
      diff.removes.push(title)
      continue
    }
    const s = c.shape(type)
    // The period first: it is what a change of history is about.
    periodDiff(b.period, a.period, c.now, c.dateText, diff, tag)
    if (s.scope) {
      const was = strings(b[s.scope]) ?? []
      const now = strings(a[s.scope]) ?? []
      for (const id of now) if (!was.includes(id)) diff.adds.push(tag(c.scopeName(type, id)))
      for (const id of was) if (!now.includes(id)) diff.removes.push(tag(c.scopeName(type, id)))
    }
    const label = (map: Record<string, string> | undefined, key: string) => map?.[key] ?? key
    const was = strings(b.datatypes) ?? []
    const now = strings(a.datatypes) ?? []
    for (const d of now) if (!was.includes(d)) diff.adds.push(tag(label(w?.datatypes, d)))
    for (const d of was) if (!now.includes(d)) diff.removes.push(tag(label(w?.datatypes, d)))
    const fieldsOf = (d: AuthorizationDetail) => strings(d[s.fields]) ?? openFields(d, w)
    const fb = fieldsOf(b)
    const fa = fieldsOf(a)
    for (const f of fa) if (!fb.includes(f)) diff.adds.push(tag(label(w?.fields, f)))
    for (const f of fb) if (!fa.includes(f)) diff.removes.push(tag(label(w?.fields, f)))
    const rb = b.max_reads_per_day
    const ra = a.max_reads_per_day
    if (typeof rb === 'number' && typeof ra === 'number' && ra !== rb) {
      if (ra > rb)
        diff.adds.push(tag(`${ra - rb} more ${ra - rb === 1 ? 'check' : 'checks'} a day without you`))
      else diff.removes.push(tag(`${rb - ra} of the ${rb} checks a day without you`))
    }
    if (typeof b.purpose === 'string' && typeof a.purpose === 'string' && a.purpose !== b.purpose)
      diff.changes.push(tag(`why: ${c.purposeLabel(a.purpose)} (was ${c.purposeLabel(b.purpose)})`))
  }
  // Whole days: a renewal the same day is no change worth a line.
  const dayOf = (ms: number) => Math.floor(ms / DAY)
  if (dayOf(expiresAfter) > dayOf(expiresBefore))
    diff.adds.push(`access until ${c.dateText(expiresAfter)} (instead of ${c.dateText(expiresBefore)})`)
  else if (dayOf(expiresAfter) < dayOf(expiresBefore))
    diff.removes.push(`access after ${c.dateText(expiresAfter)}`)
  return diff
}

function periodDiff(
  pb: unknown,
  pa: unknown,
  now: number,
  dateText: (ms: number) => string,
  diff: DetailsDiff,
  tag: (s: string) => string,
) {
  if (!isPeriod(pb) && !isPeriod(pa)) return
  const range = (r: { from: string; to: string }) =>
    r.from === r.to ? dateText(dayMs(r.from)) : `${dateText(dayMs(r.from))} to ${dateText(dayMs(r.to))}`
  if (!isPeriod(pb)) {
    diff.adds.push(tag(`history: ${periodWords(pa as Period, dateText)}`))
    return
  }
  if (!isPeriod(pa)) {
    diff.removes.push(tag(`history: ${periodWords(pb, dateText)}`))
    return
  }
  if (isLookback(pb) && isLookback(pa)) {
    const d = pa.lookback_days - pb.lookback_days
    if (d > 0) diff.adds.push(tag(`${spanText(d, true)} of history`))
    if (d < 0) diff.removes.push(tag(`the oldest ${spanWords(-d)} of history`))
    return
  }
  if (isLookback(pb) !== isLookback(pa)) {
    diff.changes.push(tag(`history: ${periodWords(pa, dateText)} (was ${periodWords(pb, dateText)})`))
    return
  }
  const b = periodRange(pb, now)
  const a = periodRange(pa, now)
  const segments = (x: { from: string; to: string }, y: { from: string; to: string }) => {
    // Parts of x outside y.
    const out: Array<{ from: string; to: string }> = []
    if (x.from < y.from) out.push({ from: x.from, to: x.to < y.from ? x.to : shiftDay(y.from, -1) })
    if (x.to > y.to) out.push({ from: x.from > y.to ? x.from : shiftDay(y.to, 1), to: x.to })
    return out
  }
  for (const s of segments(a, b)) diff.adds.push(tag(`history from ${range(s)}`))
  for (const s of segments(b, a)) diff.removes.push(tag(`history from ${range(s)}`))
}

/**
 * The fields a detail without its fields member shows: those of its datatypes (`fieldsByDatatype`),
 * or every declared field when the type does not split them by datatype.
 */
export function openFields(d: AuthorizationDetail, w: DataTypeWords | undefined): string[] {
  const all = Object.keys(w?.fields ?? {})
  const byDatatype = w?.fieldsByDatatype
  const datatypes = strings(d.datatypes)
  if (!byDatatype || !datatypes) return all
  return [...new Set(datatypes.flatMap((dt) => byDatatype[dt] ?? []))]
}

/** "the last 90 days" or "1 Sep 2026 to 30 Nov 2026". */
function periodWords(p: Period, dateText: (ms: number) => string): string {
  return isLookback(p)
    ? `the last ${spanWords(p.lookback_days)}`
    : `${dateText(dayMs(p.from))} to ${dateText(dayMs(p.to))}`
}

/** The diff as the page's lines: "Adds: a, b", "Removes: c", "Changes: d" (empty lists give none). */
export function diffLines(diff: DetailsDiff): string[] {
  return [
    ...(diff.adds.length ? [`Adds: ${diff.adds.join(', ')}`] : []),
    ...(diff.removes.length ? [`Removes: ${diff.removes.join(', ')}`] : []),
    ...(diff.changes.length ? [`Changes: ${diff.changes.join(', ')}`] : []),
  ]
}

/**
 * `true` when `after` allows nothing `before` did not: no new type, scope, datatype or field; a
 * period inside the old one (a shorter lookback, or dates within the old dates — never a rolling
 * window for fixed dates or back); no more reads a day, no later end; every other member unchanged.
 * What the person may do alone, without the recipient (dashboard "Change").
 *
 * @example
 * ```ts
 * if (!isNarrowing(grant.authorizationDetails, after, grant.expiresAt, expiresAt, shape)) refuse()
 * ```
 */
export function isNarrowing(
  before: readonly AuthorizationDetail[],
  after: readonly AuthorizationDetail[],
  expiresBefore: number,
  expiresAfter: number,
  shape: (type: string) => DetailShape,
): boolean {
  if (expiresAfter > expiresBefore) return false
  if (new Set(after.map((d) => d.type)).size !== after.length) return false
  for (const a of after) {
    const b = before.find((d) => d.type === a.type)
    if (!b) return false
    const s = shape(a.type)
    const lists = listMembers(s)
    for (const member of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (member === 'type') continue
      const va = a[member]
      const vb = b[member]
      if (lists.includes(member) || (Array.isArray(va) && Array.isArray(vb))) {
        // Absent before: every item allowed (open fields); absent after: every item asked.
        if (vb === undefined) continue
        if (va === undefined) return false
        const allowed = strings(vb) ?? []
        if (!(strings(va) ?? []).every((x) => allowed.includes(x))) return false
      } else if (member === 'period') {
        if (!periodWithin(va, vb)) return false
      } else if (member === 'max_reads_per_day' || member === 'expires_in') {
        if (typeof va !== 'number' || typeof vb !== 'number' || va > vb) return false
      } else if (!sameJson(va, vb)) return false
    }
  }
  return true
}

/** `inner` covers no day `outer` does not, now or later. */
function periodWithin(inner: unknown, outer: unknown): boolean {
  if (outer === undefined) return inner === undefined
  if (!isPeriod(inner) || !isPeriod(outer)) return false
  if (isLookback(inner) !== isLookback(outer)) return false
  if (isLookback(inner) && isLookback(outer)) return inner.lookback_days <= outer.lookback_days
  const i = inner as { from: string; to: string }
  const o = outer as { from: string; to: string }
  return i.from >= o.from && i.to <= o.to && i.from <= i.to
}
