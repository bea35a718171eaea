import { z } from 'zod'

/** An account as the transaction-history API serves it. `balance` only when `balances` was consented. */
export const accountSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  currency: z.string(),
  balance: z.object({ amount: z.string(), currency: z.string(), as_of: z.string() }).optional(),
})
export type Account = z.infer<typeof accountSchema>

/**
 * A transaction as served: `id` and `account_id` always; every other member only if consented.
 * Amounts are decimal strings ("-12.50") so no float ever rounds money.
 */
export const transactionSchema = z.object({
  id: z.string(),
  account_id: z.string(),
  booked_at: z.string().optional(),
  amount: z.string().optional(),
  currency: z.string().optional(),
  description: z.string().optional(),
  counterparty: z.string().optional(),
  category: z.string().optional(),
  status: z.string().optional(),
  balance_after: z.string().optional(),
})
export type Transaction = z.infer<typeof transactionSchema>

export const accountListSchema = z.object({ data: z.array(accountSchema) })
export const transactionPageSchema = z.object({
  data: z.array(transactionSchema),
  /** The period actually served, after clamping to the consent. */
  period: z.object({ from: z.string(), to: z.string() }).optional(),
  next_cursor: z.string().optional(),
})
export type TransactionPage = z.infer<typeof transactionPageSchema>

/** Largest page the API serves. */
export const MAX_PAGE_SIZE = 500
