/**
 * What the holder plugs in so Consentry can serve its data. Consentry enforces the consent; the data
 * source only answers narrow, ranged questions — it is never asked for "everything". The full
 * contract (promises, shapes, decimal-string amounts, UTC timestamps, order, paging) with a SQL
 * example is docs/holder-contracts.md.
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

/** An account of the person, as your data source returns it. */
export interface HolderAccount {
  /** Your account id: stable and unique among the person's accounts (it appears, percent-encoded, in API paths). */
  id: string
  /** Display name the person recognises, e.g. `Main wallet`. */
  name: string
  /** e.g. `wallet`, `savings`, `card`. */
  type: string
  /** ISO 4217 code, e.g. `EUR`. */
  currency: string
}

/** An account's current balance. */
export interface HolderBalance {
  /** Decimal string, e.g. `1520.75` or `-3.10`. */
  amount: string
  /** ISO 4217 code. */
  currency: string
  /** ISO 8601 date-time. */
  asOf: string
}

/**
 * One page request of {@link DataSource.listTransactions}. Consentry has already clamped it to the consent.
 */
export interface TransactionQuery {
  /** The account holder (your user id), as `authenticate`/`verifyPassword` returned it. */
  subject: string
  /** One of the person's account ids (consented and still theirs). */
  accountId: string
  /** `YYYY-MM-DD`, inclusive. */
  from: string
  /** `YYYY-MM-DD`, inclusive. */
  to: string
  /**
   * Next page: only transactions strictly after this one in the order (`bookedAt` desc, `id` desc), i.e.
   * older ones.
   */
  before?: {
    /** The last transaction of the previous page: its `bookedAt`. */
    bookedAt: string
    /** The last transaction of the previous page: its `id`. */
    id: string
  }
  /**
   * Return at most this many (Consentry asks for one more than the page size, to know whether there is a
   * next page).
   */
  limit: number
}

/** A transaction as your data source returns it. Consentry projects it to the consented fields. */
export interface HolderTransaction {
  /** Your transaction id: stable and unique within the account (it breaks ties in the order). */
  id: string
  /** The account it belongs to (rows of another account are dropped). */
  accountId: string
  /** ISO 8601 date-time in UTC, e.g. `2026-03-01T09:30:00.000Z`. */
  bookedAt: string
  /** Decimal string, negative for money out: `-12.50`. */
  amount: string
  /** ISO 4217 code. */
  currency: string
  /** The statement text. */
  description: string
  /** Who the money came from or went to (`''` if unknown). */
  counterparty: string
  /** Your category, e.g. `groceries` (`''` if none). */
  category: string
  /** `booked` or `pending`. */
  status: string
  /** Decimal string: the account balance after this transaction. */
  balanceAfter: string
}
