import type { AuthorizationDetail, Grant } from '@consentry/core'
import type { Context } from '../context.ts'
import type { GrantManagementRequest } from '../store/store.ts'
import {
  amendedExpiry,
  type DiffContext,
  diffDetails,
  diffLines,
  mergeDetails,
  resolveScope,
  shapeOf,
} from './amend.ts'
import { dataTypeOf, dateText } from './describe.ts'

/** What a Grant Management request proposes for a grant, and the change in the person's words. */
export interface Proposal {
  /** The grant as the proposal was computed from it (its `updatedAt` is the version). */
  grant: Grant
  /** The details after the change, before the person narrows them. */
  details: AuthorizationDetail[]
  expiresAt: number
  /** "Adds: …", "Removes: …", "Changes: …". */
  lines: string[]
}

/** The person's scope items per data type, by id → name. */
export async function scopeNames(ctx: Context, subject: string, types: Iterable<string>) {
  const names = new Map<string, Map<string, string>>()
  for (const type of new Set(types)) {
    const dataType = ctx.config.dataTypes.find((t) => t.detail.type === type)
    names.set(type, new Map(((await dataType?.listScope?.(subject)) ?? []).map((s) => [s.id, s.name])))
  }
  return names
}

/** Everything {@link diffDetails} needs to word a change for `subject`. */
export async function diffContext(
  ctx: Context,
  subject: string,
  details: AuthorizationDetail[],
): Promise<DiffContext> {
  const names = await scopeNames(
    ctx,
    subject,
    details.map((d) => d.type),
  )
  return {
    words: (type) => ctx.config.dataTypes.find((t) => t.detail.type === type)?.words,
    shape: (type) => shapeOf(ctx.config.detailTypes, type),
    scopeName: (type, id) => names.get(type)?.get(id) ?? id,
    purposeLabel: (id) => ctx.config.purposes[id]?.label ?? id,
    dateText,
    now: ctx.now(),
  }
}

/** The change as the page's lines, from before to after. */
export async function changeLines(
  ctx: Context,
  subject: string,
  before: { details: AuthorizationDetail[]; expiresAt: number },
  after: { details: AuthorizationDetail[]; expiresAt: number },
): Promise<string[]> {
  const c = await diffContext(ctx, subject, [...before.details, ...after.details])
  return diffLines(diffDetails(before.details, after.details, before.expiresAt, after.expiresAt, c))
}

/**
 * The proposal of a `merge` or `replace` against the grant as it stands: a request that leaves the
 * scope to the person offers every item they own (as a first consent does); scope items the person
 * no longer owns are left out; the end follows {@link amendedExpiry}.
 */
export async function proposeAmendment(
  ctx: Context,
  grant: Grant,
  requested: AuthorizationDetail[],
  gm: GrantManagementRequest,
): Promise<Proposal> {
  const shape = (type: string) => shapeOf(ctx.config.detailTypes, type)
  const owned = await scopeNames(ctx, grant.subject, [
    ...requested.map((d) => d.type),
    ...grant.authorizationDetails.map((d) => d.type),
  ])
  const ids = (type: string) => [...(owned.get(type)?.keys() ?? [])]
  const resolved = resolveScope(requested, shape, (type) => (dataTypeOf(ctx, { type }) ? ids(type) : []))
  const merged =
    gm.action === 'merge' ? mergeDetails(grant.authorizationDetails, resolved, shape, gm.asked) : resolved
  const details = merged.map((d) => {
    const member = shape(d.type).scope
    if (!member || !Array.isArray(d[member]) || !dataTypeOf(ctx, d)) return d
    const mine = owned.get(d.type)
    return { ...d, [member]: (d[member] as string[]).filter((id) => mine?.has(id)) }
  })
  const now = ctx.now()
  const expiresAt = amendedExpiry(
    gm.action,
    grant,
    requested,
    now,
    { maxGrantS: ctx.config.lifetimes.maxGrant, capFrom: ctx.config.lifetimeCapFrom },
    gm.asked,
  )
  const lines = await changeLines(
    ctx,
    grant.subject,
    { details: grant.authorizationDetails, expiresAt: grant.expiresAt },
    { details, expiresAt },
  )
  return { grant, details, expiresAt, lines }
}

/** Why `details` cannot be granted (a schema of its type refuses it), or `null`. */
export function invalidDetail(ctx: Context, details: AuthorizationDetail[]): string | null {
  for (const d of details) {
    const type = ctx.config.detailTypes.find((t) => t.type === d.type)
    if (!type?.schema.safeParse(d).success)
      return `This choice leaves ${d.type} in a state that cannot be shared.`
  }
  return null
}
