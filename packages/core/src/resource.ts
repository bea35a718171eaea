import { z } from 'zod'

/** An account as the transaction-history API serves it. `balance` only when `balances` was consented. */
export const accountSchema = z.object({
  /** The holder's account id, stable across reads. */
  id: z.string(),
  /** Display name, e.g. `Main wallet`. */
  name: z.string(),
  /** Kind of account, e.g. `wallet`, `savings`, `card`. */
  type: z.string(),
  /** ISO 4217 code. */
  currency: z.string(),
  /** Current balance (`amount` a decimal string, `as_of` ISO 8601); only when `balances` was consented. */
  balance: z.object({ amount: z.string(), currency: z.string(), as_of: z.string() }).optional(),
})
/** An account as served (see {@link accountSchema}). */
export type Account = z.infer<typeof accountSchema>

/**
 * A transaction as served: `id` and `account_id` always; every other member only if consented.
 * Amounts are decimal strings ("-12.50") so no float ever rounds money.
 */
export const transactionSchema = z.object({
  /** The holder's transaction id. */
  id: z.string(),
  /** The account it belongs to. */
  account_id: z.string(),
  /** ISO 8601 date-time in UTC. */
  booked_at: z.string().optional(),
  /** Decimal string, negative for money out: `-12.50`. */
  amount: z.string().optional(),
  /** ISO 4217 code. */
  currency: z.string().optional(),
  /** The statement text. */
  description: z.string().optional(),
  /** Who the money came from or went to. */
  counterparty: z.string().optional(),
  /** The holder's category, e.g. `groceries`. */
  category: z.string().optional(),
  /** `booked` or `pending`. */
  status: z.string().optional(),
  /** Decimal string: the account balance after this transaction. */
  balance_after: z.string().optional(),
})
/** A transaction as served (see {@link transactionSchema}). */
export type Transaction = z.infer<typeof transactionSchema>

/** `GET {resource}/accounts` response body. */
export const accountListSchema = z.object({ data: z.array(accountSchema) })
/** `GET {resource}/accounts/{id}/transactions` response body: one page, newest first. */
export const transactionPageSchema = z.object({
  /** The page's transactions, newest first. */
  data: z.array(transactionSchema),
  /** The period actually served, after clamping to the consent. */
  period: z.object({ from: z.string(), to: z.string() }).optional(),
  /** Opaque; pass as `cursor` for the next page (valid 15 minutes). Absent on the last page. */
  next_cursor: z.string().optional(),
})
/** One page of transactions (see {@link transactionPageSchema}). */
export type TransactionPage = z.infer<typeof transactionPageSchema>

/** Largest page the API serves. */
export const MAX_PAGE_SIZE = 500
