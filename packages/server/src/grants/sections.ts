import type { AuthorizationDetail } from '@consentry/core'
import type { Context } from '../context.ts'
import { type ConsentSection, consentSection } from '../pages/consent.ts'
import { dataDetails, periodText } from './describe.ts'

/** The input-name prefix of the k-th data-typed detail of a request: '', `1.`, `2.`, … */
export const sectionPrefix = (k: number) => (k === 0 ? '' : `${k}.`)

/**
 * The consent sections of a request's (or grant's) details for the person `subject`: their scope
 * items come from each type's `listScope`. `chosen` (same order) pre-ticks a narrower selection.
 */
export async function sectionsFor(
  ctx: Context,
  details: AuthorizationDetail[],
  subject: string,
  clientName: string,
  chosen?: AuthorizationDetail[],
): Promise<ConsentSection[]> {
  const typed = dataDetails(ctx, details)
  const now = chosen ? dataDetails(ctx, chosen) : undefined
  return Promise.all(
    typed.map(async ({ detail, dataType }, k) => {
      const scope = dataType.detail.scope
      const fieldsMember = dataType.detail.fieldsMember ?? 'fields'
      const current = now?.[k]?.detail
      const list = (d: AuthorizationDetail | undefined, m: string | undefined) =>
        d && m && Array.isArray(d[m]) ? (d[m] as string[]) : undefined
      const scopeChosen = list(current, scope?.member)
      const fieldsChosen = list(current, fieldsMember)
      const datatypesChosen = list(current, 'datatypes')
      return consentSection(dataType.words, detail, {
        items: (await dataType.listScope?.(subject)) ?? [],
        ...(scope ? { scopeMember: scope.member } : {}),
        fieldsMember,
        period: periodText(detail),
        client: clientName,
        prefix: sectionPrefix(k),
        ...(current
          ? {
              chosen: {
                ...(scopeChosen ? { scope: scopeChosen } : {}),
                ...(fieldsChosen ? { fields: fieldsChosen } : {}),
                ...(datatypesChosen ? { datatypes: datatypesChosen } : {}),
              },
            }
          : {}),
      })
    }),
  )
}
