import type { AuthorizationDetail } from '@consentry/core'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import { dataDetails } from '../grants/describe.ts'

/** A subject as a form carries it: 1–256 characters, no control characters. */
const SUBJECT = /^[^\p{Cc}]{1,256}$/u

/**
 * check_sandbox_subject: the sandbox's `subject` must be a person this holder knows — one its
 * `accountHolders.displayName` names, or one for whom a served data type's `listScope` lists at least
 * one item (an account, a store). The sandbox never invents people: they are the holder's own (the
 * demo's alice and bob). Anything else is `invalid_request`, worded the same whether the subject is
 * malformed or unknown.
 */
export async function checkSandboxSubject(ctx: Context, raw: string | undefined): Promise<string> {
  if (raw === undefined) throw new OAuthError('invalid_request', 'subject is required (a sandbox person)')
  const unknown = new OAuthError('invalid_request', 'subject is not a person this holder knows')
  if (!SUBJECT.test(raw)) throw unknown
  const name = await ctx.config.accountHolders.displayName?.(raw)
  if (typeof name === 'string' && name.length > 0) return raw
  for (const dataType of ctx.config.dataTypes)
    if (((await dataType.listScope?.(raw)) ?? []).length > 0) return raw
  throw unknown
}

/**
 * check_sandbox_scope: for each data-typed detail whose type has a scope (accounts, stores), the items
 * the grant will name — those the detail names, each of which must be the subject's, or, when it names
 * none, every item the subject holds (at least one). Details without a scope get `[]`.
 * In request order of the data-typed details (the consent sections' order).
 */
export async function checkSandboxScope(
  ctx: Context,
  subject: string,
  details: AuthorizationDetail[],
): Promise<string[][]> {
  const out: string[][] = []
  for (const { detail, dataType } of dataDetails(ctx, details)) {
    const scope = dataType.detail.scope
    if (!scope) {
      out.push([])
      continue
    }
    const owned = ((await dataType.listScope?.(subject)) ?? []).map((s) => s.id)
    const named = detail[scope.member]
    const plural = dataType.words.scope?.plural ?? scope.member
    if (Array.isArray(named)) {
      const where = `authorization_details[${details.indexOf(detail)}]`
      if (!named.length)
        throw new OAuthError('invalid_authorization_details', `${where}: ${scope.member} is empty`)
      if (named.some((id) => !owned.includes(id as string)))
        throw new OAuthError(
          'invalid_authorization_details',
          `${where}: ${scope.member} names ${plural} the subject does not hold`,
        )
      out.push([...new Set(named as string[])])
    } else {
      if (!owned.length)
        throw new OAuthError('invalid_request', `the subject holds no ${plural} of type ${detail.type}`)
      out.push(owned)
    }
  }
  return out
}
