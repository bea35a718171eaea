import { type AuthorizationDetail, parseAuthorizationDetails } from '@consentry/core'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'

/**
 * check_authorization_details: parses `authorization_details` against the known types; for every
 * detail of a served data type, checks the purpose is one the holder offers and the locations name
 * this resource, and caps `expires_in` at the holder's maximum grant lifetime. One detail per data
 * type: one consent section, one set of choices, one set of rules at the API.
 */
export function checkAuthorizationDetails(ctx: Context, raw: string | undefined): AuthorizationDetail[] {
  if (!raw) throw new OAuthError('invalid_authorization_details', 'authorization_details is required')
  const parsed = parseAuthorizationDetails(raw, ctx.config.detailTypes)
  if (!parsed.success) throw new OAuthError('invalid_authorization_details', parsed.error)
  const served = new Set(ctx.config.dataTypes.map((t) => t.detail.type))
  const seen = new Set<string>()
  return parsed.data.map((detail, i) => {
    if (!served.has(detail.type)) return detail
    if (seen.has(detail.type))
      throw new OAuthError('invalid_authorization_details', `at most one ${detail.type} detail per request`)
    seen.add(detail.type)
    const purpose = detail.purpose
    if (typeof purpose !== 'string' || !Object.hasOwn(ctx.config.purposes, purpose))
      throw new OAuthError(
        'invalid_authorization_details',
        `authorization_details[${i}]: purpose is not offered by this holder`,
      )
    const locations = detail.locations
    if (Array.isArray(locations) && !locations.includes(ctx.urls.resource))
      throw new OAuthError(
        'invalid_authorization_details',
        `authorization_details[${i}]: locations must name ${ctx.urls.resource}`,
      )
    const expiresIn = typeof detail.expires_in === 'number' ? detail.expires_in : 90 * 86400
    return { ...detail, expires_in: Math.min(expiresIn, ctx.config.lifetimes.maxGrant) }
  })
}
