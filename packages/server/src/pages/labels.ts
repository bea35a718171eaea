import { TRANSACTION_FIELDS, type TransactionField } from '@consentry/core'

/** Plain-words names of the transaction fields, as the person reads them. */
export const FIELD_LABELS: Record<TransactionField, string> = {
  booked_at: 'Date',
  amount: 'Amount',
  currency: 'Currency',
  description: 'Description',
  counterparty: 'Who paid or was paid',
  category: 'Category',
  status: 'Status',
  balance_after: 'Running balance',
}

/** Plain-words names of the datatypes. */
export const DATATYPE_LABELS: Record<string, string> = {
  accounts: 'Account details',
  balances: 'Balances',
  transactions: 'Transactions',
}

export const STATUS_LABELS: Record<string, string> = {
  active: 'Active',
  revoked: 'Revoked',
  expired: 'Expired',
  denied: 'Denied',
  pending: 'Pending',
}

export function fieldLabel(field: string): string {
  return FIELD_LABELS[field as TransactionField] ?? field
}

export function datatypeLabel(datatype: string): string {
  return DATATYPE_LABELS[datatype] ?? datatype
}

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status
}

/** Fields in the canonical order (booked_at, amount, …); unknown names keep their place at the end. */
export function orderFields<T extends string>(fields: readonly T[]): T[] {
  const rank = (f: string) => {
    const i = (TRANSACTION_FIELDS as readonly string[]).indexOf(f)
    return i === -1 ? TRANSACTION_FIELDS.length : i
  }
  return [...new Set(fields)].sort((a, b) => rank(a) - rank(b))
}

/** "at most 4 times a day", "at most once a day", "never". */
export function readsPerDayText(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return 'never'
  if (n === 1) return 'at most once a day'
  if (n === 2) return 'at most twice a day'
  return `at most ${Math.floor(n)} times a day`
}
