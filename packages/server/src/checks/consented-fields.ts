import type { AuthorizationDetail } from '@consentry/core'
import type { DataType } from '../data-types/define.ts'

/**
 * The fields a detail lets through: those it names in its fields member (`fields`, `metrics`) that the
 * type declares, or — when it names none — every declared field of its chosen datatypes.
 */
export function consentedFields(dataType: DataType, detail: AuthorizationDetail): string[] {
  const declared = Object.keys(dataType.words.fields ?? {})
  const asked = detail[dataType.detail.fieldsMember ?? 'fields']
  if (Array.isArray(asked)) return declared.filter((f) => asked.includes(f))
  const byDatatype = dataType.words.fieldsByDatatype
  const datatypes = Array.isArray(detail.datatypes) ? (detail.datatypes as string[]) : undefined
  if (!byDatatype || !datatypes) return declared
  const open = new Set(datatypes.flatMap((d) => byDatatype[d] ?? []))
  return declared.filter((f) => open.has(f))
}

/**
 * check_consented_fields: a record as it may leave the server — its `id`, its scope parameter
 * (`account_id`, `store_id`) and the consented fields, nothing else, whatever the data source returned.
 */
export function projectRecord(
  record: Record<string, unknown>,
  always: readonly string[],
  fields: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of always) if (record[k] !== undefined) out[k] = record[k]
  for (const f of fields) if (record[f] !== undefined) out[f] = record[f]
  return out
}
