import { MAX_PAGE_SIZE } from '@consentry/core'
import { projectRecord } from '../checks/consented-fields.ts'
import { clampPeriod } from '../checks/consented-period.ts'
import { type CountedRead, checkReadQuota } from '../checks/read-quota.ts'
import type { Context } from '../context.ts'
import type { EnforcedRead, ListHandler } from '../data-types/define.ts'
import type { CompiledRoute } from '../data-types/routes.ts'
import { ProblemError } from '../errors.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'

const DEFAULT_PAGE_SIZE = 100

/** check_page_size: `limit`, when given, is an integer from 1 to {@link MAX_PAGE_SIZE}. */
function checkPageSize(query: URLSearchParams): number {
  const limit = query.has('limit') ? Number(query.get('limit')) : DEFAULT_PAGE_SIZE
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
    throw new ProblemError('invalid_parameter', `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`)
  return limit
}

/**
 * A list route: one page of records, newest first. The period is clamped to the consent on every
 * page; a listing counts as one read at its first page (pages fetched with its `cursor` belong to
 * it); the data source is never trusted to enforce the consent either — scope, period and order are
 * checked again on what it returns, and each record is projected to the consented fields.
 */
export async function serveListing(
  ctx: Context,
  route: CompiledRoute,
  handler: ListHandler,
  read: EnforcedRead,
  counted?: CountedRead,
): Promise<{ body: Record<string, unknown>; audit: Record<string, unknown> }> {
  const q = read.query
  const limit = checkPageSize(q)
  const key = `${route.dataType.detail.type}.${route.name}`
  const scopeParam = route.dataType.detail.scope?.param
  const scopeId = read.scopeId ?? ''
  const cursorParam = q.get('cursor')
  const cursor = cursorParam ? await decodeCursor(ctx, cursorParam) : undefined
  if (cursor && (cursor.grantId !== read.grantId || cursor.route !== key || cursor.scopeId !== scopeId))
    throw new ProblemError('invalid_cursor', 'the cursor belongs to another listing')
  const { from, to } = clampPeriod(read.period, {
    from: cursor?.from ?? q.get('from') ?? undefined,
    to: cursor?.to ?? q.get('to') ?? undefined,
  })
  // A period narrowed mid-listing: the next page would start before it, so what is left is outside.
  if (cursor && cursor.before.at.slice(0, 10) < from)
    throw new ProblemError('outside_consent', 'the rest of this listing is outside the consented period')
  const noun = route.dataType.words.scope?.noun
  const resource = {
    type: route.dataType.detail.type,
    resource: route.contract.datatype ?? route.name,
    ...(noun && read.scopeId !== undefined ? { [noun]: read.scopeId } : {}),
  }
  if (!cursor) await checkReadQuota(ctx, read, resource, counted)

  const rows = await handler.list({
    read,
    subject: read.subject,
    ...(read.scopeId !== undefined ? { scopeId: read.scopeId } : {}),
    from,
    to,
    ...(cursor ? { before: cursor.before } : {}),
    limit: limit + 1,
  })
  const at = (r: Record<string, unknown>) =>
    typeof r[handler.orderBy] === 'string' ? (r[handler.orderBy] as string) : ''
  const inRange = rows.filter((r) => {
    const day = at(r).slice(0, 10)
    if (!day || typeof r.id !== 'string') return false
    if (scopeParam && read.scopeId !== undefined && r[scopeParam] !== read.scopeId) return false
    return day >= from && day <= to && (!cursor || isBefore(at(r), r.id, cursor.before))
  })
  const pageRows = inRange.slice(0, limit)
  const always = scopeParam ? ['id', scopeParam] : ['id']
  const data = pageRows.map((r) => projectRecord(r, always, read.fields))
  const last = pageRows.at(-1)
  const page = (cursor?.page ?? 0) + 1
  const next =
    inRange.length > limit && last
      ? await encodeCursor(ctx, {
          grantId: read.grantId,
          route: key,
          scopeId,
          from,
          to,
          before: { at: at(last), id: last.id as string },
          page,
        })
      : undefined
  return {
    body: { data, period: { from, to }, ...(next ? { next_cursor: next } : {}) },
    audit: { ...resource, from, to, records: data.length, fields: read.fields, page },
  }
}

const isBefore = (at: string, id: string, b: { at: string; id: string }) =>
  at < b.at || (at === b.at && id < b.id)
