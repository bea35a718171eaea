import type { DatabaseSync } from 'node:sqlite'

/**
 * At most this many writes share one transaction: the batch then commits at once and the next write
 * opens another, so one event-loop turn never holds an unbounded transaction.
 */
export const MAX_BATCH_WRITES = 500

/** How {@link GroupCommit.write} runs a write. */
export interface WriteOptions {
  /**
   * Resolve as soon as the write ran, without waiting for the commit: for a write the caller follows
   * with a durable write before acting on it (WAL is written in order, so that later commit makes
   * this one durable too). If its batch then fails to commit, the write runs once more in a new
   * batch, so an acknowledged write is not silently dropped.
   */
  acknowledgeAtOnce?: boolean
  /**
   * The write changes the database with one statement at most, and nothing after that statement
   * throws: SQLite's statement-level rollback then suffices and the savepoint is skipped.
   */
  oneStatement?: boolean
}

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
}

/** SQLITE_CONSTRAINT (any extended code): the failing statement alone was rolled back. */
const isConstraintError = (error: unknown) => {
  const code = (error as { errcode?: unknown } | null)?.errcode
  return typeof code === 'number' && (code & 0xff) === 19
}

/** How committed transactions are made durable (see {@link GroupCommit}). */
export interface GroupCommitOptions {
  /**
   * Flush the write-ahead log to stable storage (`fsync`, off the event loop) and call back. Absent
   * for a database that has no file (`:memory:`): a commit is then final at once.
   */
  sync?: (callback: (error: Error | null) => void) => void
  /** Called after a batch committed (its writes are visible to the sequencer's next step). */
  committed?: () => void
  /** Called after a batch was rolled back (caches of what it wrote are stale). */
  rolledBack?: () => void
}

/**
 * Group commit for one `DatabaseSync` connection (WAL mode).
 *
 * Writes made during one event-loop turn share ONE transaction: the first write runs `BEGIN`, the
 * `COMMIT` is scheduled with `setImmediate`. Each write runs at once, synchronously, under its own
 * SAVEPOINT: a write that throws (a duplicate key, a failed check) is rolled back alone and rejects
 * only its own caller; the batch goes on. A `COMMIT` that fails rejects every caller of the batch,
 * and nothing of the batch is kept (ROLLBACK).
 *
 * Durability: a write's promise resolves only once its transaction is committed AND the WAL holding
 * it has been fsynced — what `synchronous=FULL` guarantees, but with the fsync taken off the event
 * loop: the connection commits with `synchronous=NORMAL` (WAL frames written, not synced; SQLite
 * still syncs around checkpoints), then `sync` fsyncs the WAL file in libuv's thread pool while the
 * loop goes on serving. One fsync is in flight at a time; the batches committed meanwhile share the
 * next one. The WAL is append-only between checkpoints and recovered in order, so a synced WAL
 * makes every earlier transaction durable too. An fsync that fails leaves the file in an unknown
 * state (as PostgreSQL, this store then fails closed): its callers are rejected, and so is every
 * later write.
 */
export class GroupCommit {
  private open = false
  private scheduled = false
  /** Writes in the open batch (waiting or acknowledged). */
  private writes = 0
  private waiters: Waiter[] = []
  /** Writes to run again if the batch they were acknowledged in fails to commit (see `write`). */
  private redo: (() => unknown)[] = []
  /** Committed, waiting for the next WAL fsync. */
  private unsynced: Waiter[] = []
  private syncing = false
  private drained: (() => void)[] = []
  /** Set when an fsync failed: every later write is refused with it. */
  private broken: unknown
  private readonly begin
  private readonly commitStatement
  private readonly savepoint
  private readonly release
  private readonly rollbackTo

  constructor(
    private readonly db: DatabaseSync,
    private readonly options: GroupCommitOptions = {},
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE')
    this.commitStatement = db.prepare('COMMIT')
    this.savepoint = db.prepare('SAVEPOINT write')
    this.release = db.prepare('RELEASE write')
    this.rollbackTo = db.prepare('ROLLBACK TO write')
  }

  /**
   * Run `fn` now, inside the open batch (opening one if needed), as one atomic step. Resolves with its
   * result once the batch is committed and durable; rejects with `fn`'s error (its changes rolled
   * back, the rest of the batch kept) or with the commit's.
   */
  write<T>(fn: () => T, options: WriteOptions = {}): Promise<T> {
    if (this.broken !== undefined) return Promise.reject(this.broken)
    const oneStatement = options.oneStatement === true
    let result: T
    try {
      result = this.step(fn, oneStatement)
    } catch (error) {
      return Promise.reject(error)
    }
    const settled = options.acknowledgeAtOnce
      ? Promise.resolve(result)
      : new Promise<T>((resolve, reject) => this.waiters.push({ resolve: () => resolve(result), reject }))
    if (options.acknowledgeAtOnce) this.redo.push(() => this.step(fn, oneStatement))
    if (++this.writes >= MAX_BATCH_WRITES) this.commit()
    return settled
  }

  /** Commit the open batch now and wait until everything committed is durable (before closing). */
  async close(): Promise<void> {
    this.commit()
    if (this.syncing || this.unsynced.length > 0)
      await new Promise<void>((resolve) => this.drained.push(resolve))
  }

  /** One write under its savepoint (unless it is one statement), in the open batch. */
  private step<T>(fn: () => T, oneStatement: boolean): T {
    if (!this.open) {
      this.begin.run()
      this.open = true
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.commit())
      }
    }
    if (oneStatement) {
      try {
        return fn()
      } catch (error) {
        // A constraint failure undoes its statement only. Anything else (I/O, disk full) may have
        // ended the transaction itself: fail the whole batch rather than guess.
        if (!isConstraintError(error)) this.fail(error)
        throw error
      }
    }
    this.savepoint.run()
    try {
      const result = fn()
      this.release.run()
      return result
    } catch (error) {
      try {
        this.rollbackTo.run()
        this.release.run()
      } catch {
        // The transaction itself is gone (SQLite rolls back on some I/O errors): fail the batch.
        this.fail(error)
      }
      throw error
    }
  }

  private commit(): void {
    this.scheduled = false
    if (!this.open) return
    try {
      this.commitStatement.run()
    } catch (error) {
      this.fail(error)
      return
    }
    const waiters = this.waiters
    this.open = false
    this.writes = 0
    this.waiters = []
    this.redo = []
    this.options.committed?.()
    if (!this.options.sync) {
      for (const w of waiters) w.resolve()
      return
    }
    this.unsynced.push(...waiters)
    this.syncNext()
  }

  /** Start the next WAL fsync for what committed since the last one (one in flight at a time). */
  private syncNext(): void {
    if (this.syncing) return
    if (this.broken !== undefined) for (const w of this.unsynced.splice(0)) w.reject(this.broken)
    if (this.unsynced.length === 0) {
      for (const resolve of this.drained.splice(0)) resolve()
      return
    }
    const group = this.unsynced
    this.unsynced = []
    this.syncing = true
    this.options.sync!((error) => {
      this.syncing = false
      if (error) this.broken ??= error
      for (const w of group) this.broken === undefined ? w.resolve() : w.reject(this.broken)
      this.syncNext()
    })
  }

  /** Roll the batch back and reject everyone waiting on it; run acknowledged writes again. */
  private fail(error: unknown): void {
    const { waiters, redo } = this
    this.writes = 0
    this.waiters = []
    this.redo = []
    try {
      this.db.exec('ROLLBACK')
    } catch {
      // Already rolled back by SQLite.
    }
    this.open = false
    this.options.rolledBack?.()
    for (const w of waiters) w.reject(error)
    for (const again of redo) {
      try {
        again()
      } catch {
        // Best effort: the storage is failing; the callers were acknowledged already.
      }
    }
  }
}
