import {
  type Account,
  type AuthorizationDetail,
  TRANSACTION_FIELDS,
  type TransactionHistoryDetail,
  transactionHistoryType,
} from '@consentry/core'
import { FIELD_LABELS } from '../pages/labels.ts'
import type { DataSource, HolderTransaction } from '../resource/data-source.ts'
import { type DataType, type DataTypeWords, defineDataType } from './define.ts'

const cap = (s: string) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : '')

/** How transaction history is put in plain words on the consent page, the dashboard and the receipt. */
export const TRANSACTION_HISTORY_WORDS: DataTypeWords<TransactionHistoryDetail & AuthorizationDetail> = {
  title: 'Transaction history',
  scope: { legend: 'Accounts', noun: 'account', plural: 'accounts' },
  datatypes: { accounts: 'Account details', balances: 'Balances', transactions: 'Transactions' },
  optionalDatatypes: ['balances'],
  fields: Object.fromEntries(TRANSACTION_FIELDS.map((f) => [f, FIELD_LABELS[f]])),
  fieldsByDatatype: { transactions: [...TRANSACTION_FIELDS] },
  fieldsTitle: 'Transaction details',
  fieldsLegend: 'Details of each transaction',
  sees: (d, { period }) => [
    'Account details: name, type and currency of each account you share',
    ...(d.datatypes.includes('transactions') ? [`Transactions from ${period}`] : []),
  ],
  notAllowed: ['move money or make payments', 'change your account or contact details'],
}

/**
 * The built-in `transaction_history` data type, served from the holder's {@link DataSource}: the
 * person's accounts (and, when consented, balances) at `/accounts`, and each consented account's
 * transactions at `/accounts/{account_id}/transactions`.
 */
export function transactionHistoryDataType(source: DataSource): DataType {
  return defineDataType({
    detail: transactionHistoryType,
    words: TRANSACTION_HISTORY_WORDS,
    listScope: async (subject) =>
      (await source.listAccounts(subject)).map((a) => ({
        id: a.id,
        name: a.name,
        meta: [cap(a.type), a.currency].filter(Boolean).join(' · '),
      })),
    handlers: {
      accounts: {
        async get(read) {
          const withBalances = (read.detail as TransactionHistoryDetail).datatypes.includes('balances')
          const consented = new Set(read.scope)
          const owned = (await source.listAccounts(read.subject)).filter((a) => consented.has(a.id))
          const data: Account[] = await Promise.all(
            owned.map(async (a) => {
              const balance = withBalances ? await source.getBalance?.(read.subject, a.id) : null
              return {
                id: a.id,
                name: a.name,
                type: a.type,
                currency: a.currency,
                ...(balance
                  ? { balance: { amount: balance.amount, currency: balance.currency, as_of: balance.asOf } }
                  : {}),
              }
            }),
          )
          return {
            body: { data },
            audit: { accounts: data.map((a) => a.id), balances: withBalances, records: data.length },
          }
        },
      },
      transactions: {
        orderBy: 'booked_at',
        async list(q) {
          const rows = await source.listTransactions({
            subject: q.subject,
            accountId: q.scopeId!,
            from: q.from,
            to: q.to,
            ...(q.before ? { before: { bookedAt: q.before.at, id: q.before.id } } : {}),
            limit: q.limit,
          })
          return rows.map(wire)
        },
      },
    },
  })
}

/** A holder transaction in wire names (projection to the consented fields happens afterwards). */
const wire = (r: HolderTransaction): Record<string, unknown> => ({
  id: r.id,
  account_id: r.accountId,
  booked_at: r.bookedAt,
  amount: r.amount,
  currency: r.currency,
  description: r.description,
  counterparty: r.counterparty,
  category: r.category,
  status: r.status,
  balance_after: r.balanceAfter,
})
