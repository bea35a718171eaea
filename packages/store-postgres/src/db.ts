/**
 * The one query abstraction the SQL store runs on, so `pg` (a pool of real connections) and PGlite
 * (one embedded connection) share every statement.
 *
 * Adapters must return `bigint` (int8) columns as JS numbers and `json` columns parsed, so the store
 * never sees driver-specific representations.
 */
export interface Queryable {
  /**
   * One statement with `$1…` parameters; resolves to the result rows. `prepared`: the statement runs
   * on every request (the read path), so an adapter that can should parse and plan it once per
   * connection (a named prepared statement) rather than on every call. Its result columns must not
   * depend on table definitions (no `*` over a table): a cached plan cannot change its row type.
   */
  query<R = Row>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<R[]>
  /** Several `;`-separated statements without parameters (migrations). */
  exec(sql: string): Promise<void>
}

export interface Db extends Queryable {
  /** Runs `fn` in one transaction on one connection: COMMIT if it resolves, ROLLBACK if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  /** Releases what this adapter owns (a pool it created, an embedded database it opened). */
  close(): Promise<void>
}

export type Row = Record<string, unknown>

/** Options of {@link Queryable.query}. */
export interface QueryOptions {
  /** Prepare once per connection (see `query`). */
  prepared?: boolean
}

/** Quote an SQL identifier (schema names come from configuration, never from requests). */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.length > 63) throw new Error('invalid schema name: must be 1..63 characters')
  return `"${name.replaceAll('"', '""')}"`
}

/** An int8 column value as a JS number (adapters already convert; this also accepts a numeric string). */
export const int8 = (value: unknown): number => (typeof value === 'number' ? value : Number(value))
