import type { AuthorizationDetail } from '@consentry/core'
import { consentedFields } from '../checks/consented-fields.ts'
import type { Context } from '../context.ts'
import type { Form } from '../http/body.ts'
import { dataTypeOf } from './describe.ts'
import { sectionPrefix } from './sections.ts'

const unique = (xs: string[]) => [...new Set(xs)]

/**
 * check_consent_selection: what the person sends back may only narrow what was asked — scope items
 * (accounts, stores) among those offered and still theirs, fields among those asked (or, when the
 * request left them open, among its datatypes' fields), optional datatypes (balances) dropped only.
 * Returns the narrowed details, or the sentence to show the person when the answer cannot stand.
 */
export async function narrowDetails(
  ctx: Context,
  subject: string,
  details: AuthorizationDetail[],
  form: Form,
): Promise<AuthorizationDetail[] | string> {
  const out: AuthorizationDetail[] = []
  let k = 0
  for (const detail of details) {
    const dataType = dataTypeOf(ctx, detail)
    if (!dataType) {
      out.push(detail)
      continue
    }
    const p = sectionPrefix(k++)
    const next: AuthorizationDetail = { ...detail }
    const scope = dataType.detail.scope
    const words = dataType.words
    if (scope) {
      const owned = new Set(((await dataType.listScope?.(subject)) ?? []).map((s) => s.id))
      const named = Array.isArray(detail[scope.member]) ? (detail[scope.member] as string[]) : undefined
      const offered = named ? named.filter((a) => owned.has(a)) : [...owned]
      const chosen = unique(form.all(`${p}account`))
      const noun = words.scope?.noun ?? 'item'
      if (!chosen.length) return `Choose at least one ${noun} to share, or choose Deny.`
      if (chosen.some((a) => !offered.includes(a)))
        return `One of the chosen ${words.scope?.plural ?? 'items'} cannot be shared here.`
      next[scope.member] = chosen
    }
    const optional = words.optionalDatatypes ?? []
    if (Array.isArray(detail.datatypes)) {
      const keep = form.all(`${p}datatype`)
      next.datatypes = (detail.datatypes as string[]).filter((d) => !optional.includes(d) || keep.includes(d))
    }
    const offeredFields = consentedFields(dataType, detail)
    const fieldsMember = dataType.detail.fieldsMember ?? 'fields'
    const chosenFields = unique(form.all(`${p}field`))
    if (chosenFields.some((f) => !offeredFields.includes(f)))
      return 'One of the chosen details was not asked for.'
    // The consent page offers a checkbox per field whenever there are fields to offer: what the
    // person unticks is honoured even when the request left the fields member out.
    if (offeredFields.length) {
      if (!chosenFields.length) return 'Choose at least one detail to share, or choose Deny.'
      next[fieldsMember] = offeredFields.filter((f) => chosenFields.includes(f))
    }
    const refused = await dataType.checkChoice?.(next, subject)
    if (refused) return refused
    out.push(next)
  }
  return out
}

/**
 * The answer of a person who ticks everything offered: per data-typed detail, the scope items given
 * (`scopes[k]`, e.g. from the sandbox), every optional datatype asked and every field offered — run
 * through {@link narrowDetails}, so the grant is exactly what that consent would have made (fields the
 * request left open become the declared fields of its datatypes, and so on).
 */
export async function consentToEverything(
  ctx: Context,
  subject: string,
  details: AuthorizationDetail[],
  scopes: string[][],
): Promise<AuthorizationDetail[] | string> {
  const answer = new Map<string, string[]>()
  let k = 0
  for (const detail of details) {
    const dataType = dataTypeOf(ctx, detail)
    if (!dataType) continue
    const p = sectionPrefix(k)
    answer.set(`${p}account`, scopes[k] ?? [])
    answer.set(`${p}datatype`, Array.isArray(detail.datatypes) ? (detail.datatypes as string[]) : [])
    answer.set(`${p}field`, consentedFields(dataType, detail))
    k++
  }
  const form: Form = {
    get: (name) => answer.get(name)?.[0],
    all: (name) => answer.get(name) ?? [],
    has: (name) => answer.has(name),
  }
  return narrowDetails(ctx, subject, details, form)
}
