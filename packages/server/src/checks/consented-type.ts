import type { AuthorizationDetail, Grant } from '@consentry/core'
import type { CompiledRoute } from '../data-types/routes.ts'
import { ProblemError } from '../errors.ts'

/**
 * check_consented_type: the grant holds a detail of the route's data type. A grant for one type can
 * never read another type's routes (403 `outside_consent`), whatever its token says.
 */
export function checkConsentedType(grant: Grant, route: CompiledRoute): AuthorizationDetail {
  const type = route.dataType.detail.type
  const detail = grant.authorizationDetails.find((d) => d.type === type)
  if (!detail)
    throw new ProblemError(
      'outside_consent',
      `this grant does not cover ${route.dataType.words.title.toLowerCase()}`,
    )
  return detail
}

/** check_consented_datatype: the route's datatype (`transactions`, `orders`) is among the granted ones. */
export function checkConsentedDatatype(detail: AuthorizationDetail, route: CompiledRoute): void {
  const needed = route.contract.datatype
  if (needed === undefined) return
  const granted = Array.isArray(detail.datatypes) ? (detail.datatypes as unknown[]) : []
  if (!granted.includes(needed))
    throw new ProblemError(
      'outside_consent',
      `${(route.dataType.words.datatypes?.[needed] ?? needed).toLowerCase()} were not consented`,
    )
}
