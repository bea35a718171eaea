import {
  type AuthorizationDetail,
  parseAuthorizationDetails,
  type TransactionHistoryDetail,
} from '@consentry/core'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'

/**
 * check_authorization_details: parses `authorization_details` against the known types, checks the
 * purpose is one the holder offers and the locations name this resource, and caps `expires_in` at the
 * holder's maximum grant lifetime.
 */
export function checkAuthorizationDetails(ctx: Context, raw: string | undefined): AuthorizationDetail[] {
  if (!raw) throw new OAuthError('invalid_authorization_details', 'authorization_details is required')
  const parsed = parseAuthorizationDetails(raw, ctx.config.detailTypes)
  if (!parsed.success) throw new OAuthError('invalid_authorization_details', parsed.error)
  // One consent page, one set of choices, one set of rules at the API: one transaction_history each.
  if (parsed.data.filter((d) => d.type === 'transaction_history').length > 1)
    throw new OAuthError(
      'invalid_authorization_details',
      'at most one transaction_history detail per request',
    )
  return parsed.data.map((detail, i) => {
    if (detail.type !== 'transaction_history') return detail
    const d = detail as TransactionHistoryDetail
    if (!Object.hasOwn(ctx.config.purposes, d.purpose))
      throw new OAuthError(
        'invalid_authorization_details',
        `authorization_details[${i}]: purpose is not offered by this holder`,
      )
    if (d.locations && !d.locations.includes(ctx.urls.resource))
      throw new OAuthError(
        'invalid_authorization_details',
        `authorization_details[${i}]: locations must name ${ctx.urls.resource}`,
      )
    return { ...d, expires_in: Math.min(d.expires_in, ctx.config.lifetimes.maxGrant) }
  })
}
