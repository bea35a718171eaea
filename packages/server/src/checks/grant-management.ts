import { type AuthorizationDetail, effectiveStatus } from '@consentry/core'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import { amendedExpiry, mergeDetails, mergeProblem, shapeOf } from '../grants/amend.ts'
import type { Form } from '../http/body.ts'
import type { GrantManagementRequest } from '../store/store.ts'

const GRANT_ID = /^[A-Za-z0-9_-]{1,64}$/
const ACTIONS = ['merge', 'replace'] as const

/**
 * check_grant_management (FAPI Grant Management §5.2): `grant_id` with `grant_management_action`
 * `replace` (the requested details replace the granted ones) or `merge` (they are merged into them)
 * changes an existing grant instead of creating one. Both or neither. The grant must be this
 * client's and active — otherwise `invalid_grant_id`, worded the same whatever the reason, so a
 * client learns nothing about other clients' grants. A merge must make a valid detail and may not
 * change the purpose or mix a rolling period with fixed dates (that is a `replace`); a change that
 * sets a new end must leave the grant some life under the holder's cap.
 */
export async function checkGrantManagement(
  ctx: Context,
  form: Form,
  clientId: string,
  details: AuthorizationDetail[],
): Promise<GrantManagementRequest | undefined> {
  const grantId = form.get('grant_id')
  const action = form.get('grant_management_action')
  if (grantId === undefined && action === undefined) return undefined
  if (action === undefined)
    throw new OAuthError('invalid_request', 'grant_id needs grant_management_action (merge or replace)')
  if (!(ACTIONS as readonly string[]).includes(action))
    throw new OAuthError('invalid_request', 'grant_management_action must be merge or replace')
  if (grantId === undefined)
    throw new OAuthError('invalid_request', `grant_management_action=${action} needs grant_id`)
  const grant = GRANT_ID.test(grantId) ? await ctx.store.getGrant(grantId) : null
  if (
    !grant ||
    grant.clientId !== clientId ||
    grant.status !== 'active' ||
    effectiveStatus(grant, ctx.now()) !== 'active'
  )
    throw new OAuthError('invalid_grant_id', 'grant_id is unknown, not this client’s, or no longer active')

  const request: GrantManagementRequest = { grantId: grant.id, action: action as 'merge' | 'replace' }
  const shape = (type: string) => shapeOf(ctx.config.detailTypes, type)
  if (request.action === 'merge') {
    const problem = mergeProblem(grant.authorizationDetails, details)
    if (problem) throw new OAuthError('invalid_authorization_details', problem)
    // The members the recipient really sent: zod filled in defaults (expires_in, max_reads_per_day)
    // that must not lengthen or widen a merged grant.
    request.asked = sentMembers(form.get('authorization_details'), details.length)
    const merged = mergeDetails(grant.authorizationDetails, details, shape, request.asked)
    for (const [i, d] of merged.entries()) {
      const type = ctx.config.detailTypes.find((t) => t.type === d.type)
      const parsed = type?.schema.safeParse(d)
      if (!parsed?.success)
        throw new OAuthError(
          'invalid_authorization_details',
          `merging authorization_details into the grant does not make a valid ${d.type} detail (${i})`,
        )
    }
  }
  const now = ctx.now()
  const ends = amendedExpiry(
    request.action,
    grant,
    details,
    now,
    { maxGrantS: ctx.config.lifetimes.maxGrant, capFrom: ctx.config.lifetimeCapFrom },
    request.asked,
  )
  if (ends <= now + 60_000)
    throw new OAuthError(
      'invalid_request',
      'the grant has reached the holder’s maximum lifetime from when it was first given; start a new grant',
    )
  return request
}

function sentMembers(raw: string | undefined, count: number): string[][] {
  try {
    const value = JSON.parse(raw ?? '[]') as unknown[]
    return Array.from({ length: count }, (_, i) => {
      const item = value[i]
      return item && typeof item === 'object' ? Object.keys(item) : []
    })
  } catch {
    return Array.from({ length: count }, () => [])
  }
}
