import type { AuthorizationDetail } from '@consentry/core'
import type { DataType } from '../data-types/define.ts'
import { ProblemError } from '../errors.ts'

/** The ids a detail names in its type's scope member (`accounts`, `stores`). */
export function scopeOf(dataType: DataType, detail: AuthorizationDetail): string[] {
  const member = dataType.detail.scope?.member
  const ids = member ? detail[member] : undefined
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : []
}

/**
 * check_consented_scope: the scope ids a read may touch are those the grant names *and* the person
 * still owns (an account closed or a store handed over since the consent drops out). A route's own
 * scope parameter (`{account_id}`, `{store_id}`) must be one of them, else 403 `outside_consent`.
 */
export async function checkConsentedScope(
  dataType: DataType,
  detail: AuthorizationDetail,
  subject: string,
  scopeId: string | undefined,
): Promise<string[]> {
  if (!dataType.detail.scope) return []
  const consented = scopeOf(dataType, detail)
  const noun = dataType.words.scope?.noun ?? 'item'
  if (scopeId !== undefined && !consented.includes(scopeId))
    throw new ProblemError('outside_consent', `this ${noun} is not part of the consent`)
  const owned = new Set((await (dataType.listScope?.(subject) ?? Promise.resolve([]))).map((s) => s.id))
  const scope = consented.filter((id) => owned.has(id))
  if (scopeId !== undefined && !owned.has(scopeId))
    throw new ProblemError('outside_consent', `this ${noun} is not part of the consent`)
  return scope
}
