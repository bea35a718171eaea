import type { DatabaseSync } from 'node:sqlite'
import { StoreError } from '../errors.ts'

/**
 * A schema change of the SQLite store. Append-only: never edit a released migration, add the next
 * version. The file's version is SQLite's `PRAGMA user_version` (0 for a new file), set in the same
 * transaction as the change, so a migration is applied completely or not at all.
 */
export interface SqliteMigration {
  /** Applied in increasing order; the file's `user_version` afterwards. */
  version: number
  /** Short name, e.g. `initial`. */
  name: string
  /** The statements. */
  sql: string
}

/**
 * Times are epoch milliseconds in INTEGER columns. JSON is kept as the exact TEXT `JSON.stringify`
 * produced, so a stored audit event comes back byte-identical. Bytes (logos, tree hashes, roots) are
 * BLOBs. The tables mirror the PostgreSQL store's (packages/store-postgres/src/migrations.ts), except
 * that pushed requests, interactions, codes and sessions share the one `records` table.
 */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE clients (
        client_id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        name_skeleton TEXT
      ) WITHOUT ROWID;
      CREATE INDEX clients_name_skeleton ON clients (name_skeleton, created_at, client_id);

      CREATE TABLE client_logos (
        client_id TEXT PRIMARY KEY,
        content_type TEXT NOT NULL,
        data BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );

      -- Single-use records: pushed requests, interactions, authorization codes, sessions.
      CREATE TABLE records (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        value TEXT NOT NULL,
        owner TEXT,
        expires_at INTEGER NOT NULL,
        consumed_at INTEGER,
        PRIMARY KEY (kind, id)
      ) WITHOUT ROWID;
      CREATE INDEX records_expires_at ON records (expires_at);

      CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        status TEXT NOT NULL,
        authorization_details TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at INTEGER,
        ended_reason TEXT,
        reminded_for INTEGER
      );
      CREATE INDEX grants_subject ON grants (subject, created_at DESC);
      CREATE INDEX grants_client ON grants (client_id, created_at DESC);
      CREATE INDEX grants_expiring ON grants (expires_at) WHERE status IN ('active', 'pending');

      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        jkt TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

      CREATE TABLE jtis (
        key TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX jtis_expires_at ON jtis (expires_at);

      CREATE TABLE read_quota (
        id INTEGER PRIMARY KEY,
        grant_id TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX read_quota_grant_at ON read_quota (grant_id, at);
      CREATE INDEX read_quota_at ON read_quota (at);

      CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;

      -- The audit log (RFC 9162 transparency log): seq is the rowid (next = max + 1; events are never
      -- deleted), leaf_index is given once by the sequencer. The event is kept verbatim.
      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        leaf_index INTEGER UNIQUE,
        type TEXT NOT NULL,
        grant_id TEXT,
        client_id TEXT,
        subject TEXT,
        event TEXT NOT NULL
      );
      CREATE INDEX audit_events_pending ON audit_events (seq) WHERE leaf_index IS NULL;
      CREATE INDEX audit_events_grant ON audit_events (grant_id, seq);
      CREATE INDEX audit_events_subject ON audit_events (subject, seq);
      CREATE INDEX audit_events_client ON audit_events (client_id, seq);

      -- Perfect-subtree hashes (level 0: leaf hashes), written once when their last leaf arrives.
      CREATE TABLE audit_tree (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
      ) WITHOUT ROWID;

      -- Every signed checkpoint (C2SP signed note), one per integrated batch.
      CREATE TABLE audit_checkpoints (
        size INTEGER PRIMARY KEY,
        root BLOB NOT NULL,
        note TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );

      CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        grant_id TEXT NOT NULL,
        url TEXT NOT NULL,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX outbox_due ON outbox (next_attempt_at, id);

      CREATE TABLE sign_in_failures (
        key TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        first_at INTEGER NOT NULL,
        last_at INTEGER NOT NULL,
        prev_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX sign_in_failures_last_at ON sign_in_failures (last_at);
    `,
  },
]

/**
 * Bring the open file up to date: each pending migration and its `user_version` in one transaction.
 * A file from a newer Consentry (a `user_version` this code does not know) is refused, never
 * downgraded.
 */
export function migrateSqlite(db: DatabaseSync, migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS) {
  const current = Number(db.prepare('PRAGMA user_version').get()?.user_version ?? 0)
  const latest = migrations.at(-1)?.version ?? 0
  if (current > latest)
    throw new StoreError(
      'store_schema_newer',
      `the SQLite database is at schema version ${current}, newer than this Consentry knows (${latest}): ` +
        'upgrade Consentry, or open a copy made before the upgrade',
    )
  for (const m of migrations) {
    if (m.version <= current) continue
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(m.sql)
      db.exec(`PRAGMA user_version = ${m.version}`)
      db.exec('COMMIT')
    } catch (error) {
      db.exec('ROLLBACK')
      throw error
    }
  }
}
