/**
 * What the holder plugs in so Consentry can serve its data. Consentry enforces the consent; the data
 * source only answers narrow, ranged questions — it is never asked for "everything".
 *
 * @example
 * ```ts
 * const dataSource: DataSource = {
 *   listAccounts: (subject) => db.accounts.where({ owner: subject }),
 *   listTransactions: ({ accountId, from, to, before, limit }) => db.tx.page(accountId, from, to, before, limit),
 * }
 * ```
 */
export interface DataSource {
  /** The person's accounts (shown on the consent page, served by `GET /accounts`). */
  listAccounts(subject: string): Promise<HolderAccount[]>
  /** Current balance; only called when `balances` was consented. */
  getBalance?(subject: string, accountId: string): Promise<HolderBalance | null>
  /**
   * One page of an account's transactions, newest first, ordered by (`bookedAt` desc, `id` desc),
   * booked on a UTC date within [`from`, `to`] (inclusive), strictly after `before` in that order when
   * given. Must not return more than `limit` items.
   */
  listTransactions(query: TransactionQuery): Promise<HolderTransaction[]>
}

export interface HolderAccount {
  id: string
  name: string
  /** e.g. `wallet`, `savings`, `card`. */
  type: string
  currency: string
}

export interface HolderBalance {
  amount: string
  currency: string
  /** ISO 8601 date-time. */
  asOf: string
}

export interface TransactionQuery {
  subject: string
  accountId: string
  /** `YYYY-MM-DD`, inclusive. */
  from: string
  /** `YYYY-MM-DD`, inclusive. */
  to: string
  before?: { bookedAt: string; id: string }
  limit: number
}

export interface HolderTransaction {
  id: string
  accountId: string
  /** ISO 8601 date-time in UTC, e.g. `2026-03-01T09:30:00.000Z`. */
  bookedAt: string
  /** Decimal string, negative for money out: `-12.50`. */
  amount: string
  currency: string
  description: string
  counterparty: string
  category: string
  /** `booked` or `pending`. */
  status: string
  balanceAfter: string
}
