import { type Db, quoteIdent } from './db.ts'

/**
 * A schema change. Migrations are append-only: never edit a released one, add the next version.
 * `sql` receives the quoted schema name; every table is schema-qualified so the store works on any
 * pool without touching the connections' `search_path`. (SQL lives here rather than in `.sql` files
 * so the built package needs no file copying.)
 */
export interface Migration {
  /** Applied in increasing order; recorded in `schema_migrations`. */
  version: number
  /** Short name, e.g. `initial`. */
  name: string
  /** The SQL, given the quoted schema name. */
  sql: (s: string) => string
}

/**
 * Times are epoch milliseconds in `bigint` columns. JSON-valued members are `json` (not `jsonb`):
 * `json` keeps the exact text it was given, so a stored audit event comes back byte-identical, and
 * it accepts every string `JSON.stringify` produces (jsonb refuses `\u0000`).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: (s) => `
      CREATE TABLE ${s}.clients (
        client_id text PRIMARY KEY,
        record json NOT NULL,
        created_at bigint NOT NULL
      );

      CREATE TABLE ${s}.pushed_requests (
        request_uri text PRIMARY KEY,
        record json NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX pushed_requests_expires_at ON ${s}.pushed_requests (expires_at);

      CREATE TABLE ${s}.interactions (
        id text PRIMARY KEY,
        record json NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX interactions_expires_at ON ${s}.interactions (expires_at);

      CREATE TABLE ${s}.codes (
        code_hash text PRIMARY KEY,
        record json NOT NULL,
        expires_at bigint NOT NULL,
        used_at bigint
      );
      CREATE INDEX codes_expires_at ON ${s}.codes (expires_at);

      CREATE TABLE ${s}.grants (
        id text PRIMARY KEY,
        client_id text NOT NULL,
        subject text NOT NULL,
        status text NOT NULL,
        authorization_details json NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        ended_at bigint,
        ended_reason text
      );
      CREATE INDEX grants_subject ON ${s}.grants (subject, created_at DESC);
      CREATE INDEX grants_client ON ${s}.grants (client_id, created_at DESC);
      CREATE INDEX grants_expiring ON ${s}.grants (expires_at) WHERE status = 'active';

      CREATE TABLE ${s}.refresh_tokens (
        token_hash text PRIMARY KEY,
        grant_id text NOT NULL,
        client_id text NOT NULL,
        jkt text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        used_at bigint,
        revoked_at bigint
      );
      CREATE INDEX refresh_tokens_grant ON ${s}.refresh_tokens (grant_id);

      CREATE TABLE ${s}.jtis (
        key text PRIMARY KEY,
        expires_at bigint NOT NULL
      );
      CREATE INDEX jtis_expires_at ON ${s}.jtis (expires_at);

      CREATE TABLE ${s}.read_quota (
        id bigserial PRIMARY KEY,
        grant_id text NOT NULL,
        at bigint NOT NULL
      );
      CREATE INDEX read_quota_grant_at ON ${s}.read_quota (grant_id, at);
      CREATE INDEX read_quota_at ON ${s}.read_quota (at);

      CREATE TABLE ${s}.secrets (
        name text PRIMARY KEY,
        value text NOT NULL
      );

      -- The sealed event is kept verbatim in "event"; the other columns exist for lookups. The
      -- primary key on seq makes a forked chain impossible even if the append lock were bypassed.
      CREATE TABLE ${s}.audit_events (
        seq bigint PRIMARY KEY,
        hash text NOT NULL,
        type text NOT NULL,
        grant_id text,
        client_id text,
        subject text,
        event json NOT NULL
      );
      CREATE INDEX audit_events_grant ON ${s}.audit_events (grant_id, seq);
      CREATE INDEX audit_events_subject ON ${s}.audit_events (subject, seq);
      CREATE INDEX audit_events_client ON ${s}.audit_events (client_id, seq);

      CREATE TABLE ${s}.audit_checkpoints (
        id bigserial PRIMARY KEY,
        size bigint NOT NULL,
        head text NOT NULL,
        created_at bigint NOT NULL,
        jws text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'checkpoint_chain_cas',
    sql: (s) => `
      -- Each checkpoint names the size of its predecessor (-1 for the first); unique, so concurrent
      -- checkpoints from several instances cannot fork the checkpoint chain.
      ALTER TABLE ${s}.audit_checkpoints ADD COLUMN prev_size bigint;
      CREATE UNIQUE INDEX audit_checkpoints_prev ON ${s}.audit_checkpoints (prev_size);
    `,
  },
  {
    version: 3,
    name: 'sweep_pending_grants',
    sql: (s) => `
      -- The sweeper also ends pending grants whose consent interaction was abandoned.
      DROP INDEX ${s}.grants_expiring;
      CREATE INDEX grants_expiring ON ${s}.grants (expires_at) WHERE status IN ('active', 'pending');
    `,
  },
  {
    version: 4,
    name: 'event_outbox',
    sql: (s) => `
      -- Events to recipients, kept until delivered or given up so a restart loses none.
      CREATE TABLE ${s}.outbox (
        id text PRIMARY KEY,
        client_id text NOT NULL,
        grant_id text NOT NULL,
        url text NOT NULL,
        body text NOT NULL,
        attempts integer NOT NULL,
        next_attempt_at bigint NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX outbox_due ON ${s}.outbox (next_attempt_at, id);
    `,
  },
  {
    version: 5,
    name: 'sign_in_failures_and_sessions',
    sql: (s) => `
      -- Sign-in failure windows, one row per key ((username, address) pair, or address).
      -- prev_at is the last_at the latest failure replaced (NULL when it opened the window).
      CREATE TABLE ${s}.sign_in_failures (
        key text PRIMARY KEY,
        count integer NOT NULL,
        first_at bigint NOT NULL,
        last_at bigint NOT NULL,
        prev_at bigint
      );
      CREATE INDEX sign_in_failures_last_at ON ${s}.sign_in_failures (last_at);

      -- Built-in sign-in sessions, revocable on the server; the cookie's id is stored hashed.
      CREATE TABLE ${s}.sessions (
        id_hash text PRIMARY KEY,
        subject text NOT NULL,
        name text,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX sessions_expires_at ON ${s}.sessions (expires_at);
    `,
  },
  {
    version: 6,
    name: 'client_name_skeleton_and_logos',
    sql: (s) => `
      -- Confusable skeleton of client_name (Unicode TR39), to find look-alike names at registration.
      ALTER TABLE ${s}.clients ADD COLUMN name_skeleton text;
      CREATE INDEX clients_name_skeleton ON ${s}.clients (name_skeleton);
      -- Client logos fetched once from logo_uri and served by the holder (never hot-linked).
      CREATE TABLE ${s}.client_logos (
        client_id text PRIMARY KEY,
        content_type text NOT NULL,
        data text NOT NULL,
        created_at bigint NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'read quota in one round trip',
    // The count-then-record of consumeReadQuota as one function call (one statement, one commit)
    // instead of BEGIN, lock, count, insert, COMMIT. Same advisory lock key as before, so instances
    // of either version serialise against each other during a rolling upgrade.
    sql: (s) => `
      CREATE FUNCTION ${s}.consume_read_quota(
        p_key text, p_lock text, p_now bigint, p_limit integer, p_window bigint, p_async boolean
      )
      RETURNS TABLE (allowed boolean, used bigint, oldest bigint)
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        n bigint;
        o bigint;
      BEGIN
        -- Only for this call's transaction; see Store.consumeReadQuota's flushedByNextWrite.
        IF p_async THEN
          PERFORM set_config('synchronous_commit', 'off', true);
        END IF;
        PERFORM pg_advisory_xact_lock(hashtextextended(p_lock, 0));
        SELECT count(*), min(q.at) INTO n, o FROM ${s}.read_quota q
          WHERE q.grant_id = p_key AND q.at > p_now - p_window;
        IF n >= p_limit THEN
          RETURN QUERY SELECT false, n, o;
        ELSE
          INSERT INTO ${s}.read_quota (grant_id, at) VALUES (p_key, p_now);
          RETURN QUERY SELECT true, n + 1, o;
        END IF;
      END
      $fn$;
    `,
  },
  {
    version: 10,
    name: 'audit_transparency_log',
    sql: (s) => `
      -- The audit trail becomes a transparency log (RFC 9162 Merkle tree, C2SP checkpoints). Requests
      -- only INSERT: seq comes from a sequence (no lock, no read of the head); hash is no longer
      -- computed (old rows keep theirs). The sequencer gives each event its leaf_index, once.
      CREATE SEQUENCE ${s}.audit_events_seq OWNED BY ${s}.audit_events.seq;
      SELECT setval('${s}.audit_events_seq', COALESCE((SELECT max(seq) FROM ${s}.audit_events), 0) + 1, false);
      ALTER TABLE ${s}.audit_events ALTER COLUMN seq SET DEFAULT nextval('${s}.audit_events_seq');
      ALTER TABLE ${s}.audit_events ALTER COLUMN hash DROP NOT NULL;
      ALTER TABLE ${s}.audit_events ADD COLUMN leaf_index bigint UNIQUE;
      CREATE INDEX audit_events_pending ON ${s}.audit_events (seq) WHERE leaf_index IS NULL;
      CREATE INDEX audit_events_grant_leaf ON ${s}.audit_events (grant_id, leaf_index) WHERE leaf_index IS NOT NULL;
      -- Perfect-subtree hashes (level 0: leaf hashes), written once when their last leaf arrives.
      CREATE TABLE ${s}.audit_tree (
        level smallint NOT NULL,
        idx bigint NOT NULL,
        hash bytea NOT NULL,
        PRIMARY KEY (level, idx)
      );
      -- Every signed checkpoint (C2SP signed note), one per integrated batch.
      CREATE TABLE ${s}.audit_log_checkpoints (
        size bigint PRIMARY KEY,
        root bytea NOT NULL,
        note text NOT NULL,
        created_at bigint NOT NULL
      );
    `,
  },
  {
    version: 11,
    name: 'grant_expiry_reminders',
    sql: (s) => `
      -- The expiry a grant's recipient was last reminded of (grant-expiring event): a renewal moves
      -- expires_at, so the renewed grant is reminded again. Found through grants_expiring.
      ALTER TABLE ${s}.grants ADD COLUMN reminded_for bigint;
    `,
  },
  {
    version: 12,
    name: 'single_use_records',
    sql: (s) => `
      -- Pushed requests, interactions, authorization codes and sessions become one table of
      -- single-use records (Store.saveRecord / findRecord / consumeRecord / deleteRecord). Only
      -- owner is ever compared in SQL, so value stays json like every other JSON column here.
      CREATE TABLE ${s}.records (
        kind text NOT NULL,
        id text NOT NULL,
        value json NOT NULL,
        owner text,
        expires_at bigint NOT NULL,
        consumed_at bigint,
        PRIMARY KEY (kind, id)
      );
      CREATE INDEX records_expires_at ON ${s}.records (expires_at);

      -- Every stored row moves over, so nobody is signed out and no flow in progress breaks. Expired
      -- rows move too (they read as absent either way, and deleteExpired drops them as before): a
      -- migration has no "now" to compare with. Consumed pushed requests and interactions were
      -- deleted, so none arrives consumed; a used code keeps its used time as consumed_at, so its
      -- replay is still reported as reuse.
      INSERT INTO ${s}.records (kind, id, value, expires_at)
        SELECT 'pushed_request', request_uri, json_build_object('request', record->'request'), expires_at
        FROM ${s}.pushed_requests;
      INSERT INTO ${s}.records (kind, id, value, expires_at)
        SELECT 'interaction', id, record, expires_at FROM ${s}.interactions;
      INSERT INTO ${s}.records (kind, id, value, owner, expires_at, consumed_at)
        SELECT 'code', code_hash, record, record->>'clientId', expires_at, used_at FROM ${s}.codes;
      INSERT INTO ${s}.records (kind, id, value, expires_at)
        SELECT 'session', id_hash,
          json_strip_nulls(json_build_object('idHash', id_hash, 'subject', subject, 'name', name,
            'createdAt', created_at, 'expiresAt', expires_at)),
          expires_at
        FROM ${s}.sessions;

      DROP TABLE ${s}.pushed_requests, ${s}.interactions, ${s}.codes, ${s}.sessions;
    `,
  },
  {
    version: 13,
    name: 'read quota counted in constant time',
    // consume_read_quota counted every read of the key in the window (count(*) over the index) under
    // an advisory lock held to commit: O(reads in the window) per call, and every other read of the
    // same grant waited for that count. Now each key has one row holding how many of its read_quota
    // rows are newer than counted_after; a call locks that row, moves counted_after to its own cutoff
    // (counting only the rows that crossed it: each row leaves the window once), and inserts its read.
    // The window stays exact: same results, same retry time (the oldest counted read's exit).
    //
    // Same signature, so instances still on the previous version call this body during a rolling
    // upgrade (p_lock is no longer used: the row lock serialises the key).
    sql: (s) => `
      CREATE TABLE ${s}.read_quota_counts (
        grant_id text PRIMARY KEY,
        -- read_quota rows of grant_id with at > counted_after
        used bigint NOT NULL,
        counted_after bigint NOT NULL
      );
      CREATE INDEX read_quota_counts_after ON ${s}.read_quota_counts (counted_after);
      CREATE OR REPLACE FUNCTION ${s}.consume_read_quota(
        p_key text, p_lock text, p_now bigint, p_limit integer, p_window bigint, p_async boolean
      )
      RETURNS TABLE (allowed boolean, used bigint, oldest bigint)
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        cutoff bigint := p_now - p_window;
        n bigint;
        after bigint;
        moved bigint;
      BEGIN
        -- Only for this call's transaction; see Store.consumeReadQuota's flushedByNextWrite.
        IF p_async THEN
          PERFORM set_config('synchronous_commit', 'off', true);
        END IF;
        LOOP
          SELECT c.used, c.counted_after INTO n, after FROM ${s}.read_quota_counts c
            WHERE c.grant_id = p_key FOR UPDATE;
          EXIT WHEN FOUND;
          -- First read of the key (or its row was dropped once empty): count what is there. A
          -- concurrent first caller waits on the unique key, then locks the winner's row.
          INSERT INTO ${s}.read_quota_counts (grant_id, used, counted_after)
            SELECT p_key, count(*), cutoff FROM ${s}.read_quota q WHERE q.grant_id = p_key AND q.at > cutoff
            ON CONFLICT (grant_id) DO NOTHING;
        END LOOP;
        -- Each statement below takes a fresh snapshot after the lock: it sees every read committed
        -- by the callers that held the row before.
        IF cutoff > after THEN
          SELECT count(*) INTO moved FROM ${s}.read_quota q
            WHERE q.grant_id = p_key AND q.at > after AND q.at <= cutoff;
          n := n - moved;
        ELSIF cutoff < after THEN
          -- A longer window, or this instance's clock behind the last caller's: count back in.
          SELECT count(*) INTO moved FROM ${s}.read_quota q
            WHERE q.grant_id = p_key AND q.at > cutoff AND q.at <= after;
          n := n + moved;
        END IF;
        IF n >= p_limit THEN
          UPDATE ${s}.read_quota_counts SET used = n, counted_after = cutoff WHERE grant_id = p_key;
          RETURN QUERY SELECT false, n, (SELECT min(q.at) FROM ${s}.read_quota q
            WHERE q.grant_id = p_key AND q.at > cutoff);
        ELSE
          INSERT INTO ${s}.read_quota (grant_id, at) VALUES (p_key, p_now);
          UPDATE ${s}.read_quota_counts SET used = n + 1, counted_after = cutoff WHERE grant_id = p_key;
          RETURN QUERY SELECT true, n + 1, NULL::bigint;
        END IF;
      END
      $fn$;
      -- Store.recordJtiAndGetGrant for several requests in one statement (one round trip, one
      -- transaction): for each, in order, the jti inserted if absent, the grant read (each statement
      -- of the function takes a fresh snapshot: a revocation committed before is seen), and a claimed
      -- read counted by consume_read_quota only for a first-used jti and an active, unexpired grant
      -- of the claim's client. Committed without waiting for the WAL flush, as the single statement
      -- was (see Store.recordJtiAndGetGrant in the store: the audit insert that follows is
      -- synchronous).
      CREATE FUNCTION ${s}.read_gate(
        p_keys text[], p_expires bigint[], p_grants text[], p_claim_keys text[], p_clients text[],
        p_nows bigint[], p_limits integer[], p_windows bigint[]
      )
      RETURNS TABLE (n integer, first_use boolean, quota text, grant_row json)
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        inserted integer;
        g ${s}.grants;
      BEGIN
        PERFORM set_config('synchronous_commit', 'off', true);
        FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
          INSERT INTO ${s}.jtis (key, expires_at) VALUES (p_keys[i], p_expires[i])
            ON CONFLICT (key) DO NOTHING;
          GET DIAGNOSTICS inserted = ROW_COUNT;
          g := NULL;
          SELECT * INTO g FROM ${s}.grants WHERE id = p_grants[i];
          n := i;
          first_use := inserted = 1;
          quota := NULL;
          grant_row := CASE WHEN g.id IS NULL THEN NULL ELSE row_to_json(g) END;
          IF first_use AND p_claim_keys[i] IS NOT NULL AND g.status = 'active'
            AND g.client_id = p_clients[i] AND g.expires_at > p_nows[i] THEN
            SELECT q::text INTO quota
              FROM ${s}.consume_read_quota(p_claim_keys[i], '', p_nows[i], p_limits[i], p_windows[i], true) q;
          END IF;
          RETURN NEXT;
        END LOOP;
      END
      $fn$;
      -- Store.releaseReadQuota: one read of p_key counted at p_at given back, under the same row lock.
      CREATE FUNCTION ${s}.release_read_quota(p_key text, p_at bigint) RETURNS void
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        after bigint;
      BEGIN
        SELECT c.counted_after INTO after FROM ${s}.read_quota_counts c WHERE c.grant_id = p_key FOR UPDATE;
        DELETE FROM ${s}.read_quota WHERE id = (
          SELECT q.id FROM ${s}.read_quota q WHERE q.grant_id = p_key AND q.at = p_at LIMIT 1
        );
        IF FOUND AND after IS NOT NULL AND p_at > after THEN
          UPDATE ${s}.read_quota_counts SET used = used - 1 WHERE grant_id = p_key;
        END IF;
      END
      $fn$;
    `,
  },
  {
    version: 14,
    name: 'one flight for the read gate and the audit appends',
    // The read gate and the audit appends were two group commits, each with a statement in flight:
    // a read made two round trips and took part in two transactions. Now the calls of both kinds
    // that arrive together go in ONE statement: read_gate for the gate calls, then the audit
    // inserts; committed synchronously whenever it holds an audit event (read_gate alone commits
    // without waiting for the WAL flush, as before). Only a function is added: instances of the
    // previous release keep calling read_gate and inserting as they did (rolling-upgrade safe).
    sql: (s) => `
      CREATE FUNCTION ${s}.read_flight(
        p_keys text[], p_expires bigint[], p_grants text[], p_claim_keys text[], p_clients text[],
        p_nows bigint[], p_limits integer[], p_windows bigint[],
        p_types text[], p_grant_ids text[], p_client_ids text[], p_subjects text[], p_events text[]
      )
      RETURNS TABLE (n integer, first_use boolean, quota text, grant_row json, seq bigint)
      LANGUAGE plpgsql VOLATILE AS $fn$
      BEGIN
        RETURN QUERY SELECT r.n, r.first_use, r.quota, r.grant_row, NULL::bigint
          FROM ${s}.read_gate(p_keys, p_expires, p_grants, p_claim_keys, p_clients, p_nows, p_limits, p_windows) r;
        IF coalesce(array_length(p_types, 1), 0) > 0 THEN
          -- An audit event is acknowledged only once durable: this transaction's commit waits.
          PERFORM set_config('synchronous_commit', 'on', true);
          -- Rows numbered in input order (ORDER BY v.i): the k-th smallest seq is the k-th event's.
          RETURN QUERY WITH ins AS (
            INSERT INTO ${s}.audit_events (type, grant_id, client_id, subject, event)
            SELECT v.type, v.grant_id, v.client_id, v.subject, v.event::json
              FROM unnest(p_types, p_grant_ids, p_client_ids, p_subjects, p_events)
                WITH ORDINALITY AS v(type, grant_id, client_id, subject, event, i)
              ORDER BY v.i
            RETURNING ${s}.audit_events.seq
          )
          SELECT NULL::integer, NULL::boolean, NULL::text, NULL::json, ins.seq FROM ins ORDER BY ins.seq;
        END IF;
      END
      $fn$;
    `,
  },
  {
    version: 15,
    name: 'the read flight in one function',
    // read_flight ran read_gate, which ran consume_read_quota for each counted read: about 13
    // statements for one read and its event, three of them set_config, with two set-returning
    // functions materialised on the way. Now the count is count_read, a function returning one row
    // that PL/pgSQL calls as a plain expression, and read_flight does the gate's work itself: seven
    // statements. Same answers, same locks, same commit rules; the exact sliding window is migration
    // 13's, moved unchanged into count_read (consume_read_quota now calls it).
    //
    // Only bodies are replaced under the same signatures, and count_read is added: instances of the
    // previous release keep calling read_flight, read_gate and consume_read_quota (rolling-upgrade safe).
    sql: (s) => `
      CREATE FUNCTION ${s}.count_read(
        p_key text, p_now bigint, p_limit integer, p_window bigint,
        OUT allowed boolean, OUT used bigint, OUT oldest bigint
      )
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        cutoff bigint := p_now - p_window;
        n bigint;
        after bigint;
        moved bigint;
      BEGIN
        LOOP
          SELECT c.used, c.counted_after INTO n, after FROM ${s}.read_quota_counts c
            WHERE c.grant_id = p_key FOR UPDATE;
          EXIT WHEN FOUND;
          -- First read of the key (or its row was dropped once empty): count what is there. A
          -- concurrent first caller waits on the unique key, then locks the winner's row.
          INSERT INTO ${s}.read_quota_counts (grant_id, used, counted_after)
            SELECT p_key, count(*), cutoff FROM ${s}.read_quota q WHERE q.grant_id = p_key AND q.at > cutoff
            ON CONFLICT (grant_id) DO NOTHING;
        END LOOP;
        -- Each statement below takes a fresh snapshot after the lock: it sees every read committed
        -- by the callers that held the row before.
        IF cutoff > after THEN
          SELECT count(*) INTO moved FROM ${s}.read_quota q
            WHERE q.grant_id = p_key AND q.at > after AND q.at <= cutoff;
          n := n - moved;
        ELSIF cutoff < after THEN
          -- A longer window, or this instance's clock behind the last caller's: count back in.
          SELECT count(*) INTO moved FROM ${s}.read_quota q
            WHERE q.grant_id = p_key AND q.at > cutoff AND q.at <= after;
          n := n + moved;
        END IF;
        IF n >= p_limit THEN
          UPDATE ${s}.read_quota_counts SET used = n, counted_after = cutoff WHERE grant_id = p_key;
          allowed := false;
          used := n;
          oldest := (SELECT min(q.at) FROM ${s}.read_quota q WHERE q.grant_id = p_key AND q.at > cutoff);
        ELSE
          INSERT INTO ${s}.read_quota (grant_id, at) VALUES (p_key, p_now);
          UPDATE ${s}.read_quota_counts SET used = n + 1, counted_after = cutoff WHERE grant_id = p_key;
          allowed := true;
          used := n + 1;
          oldest := NULL;
        END IF;
      END
      $fn$;
      CREATE OR REPLACE FUNCTION ${s}.consume_read_quota(
        p_key text, p_lock text, p_now bigint, p_limit integer, p_window bigint, p_async boolean
      )
      RETURNS TABLE (allowed boolean, used bigint, oldest bigint)
      LANGUAGE plpgsql VOLATILE AS $fn$
      BEGIN
        -- Only for this call's transaction; see Store.consumeReadQuota's flushedByNextWrite.
        IF p_async THEN
          PERFORM set_config('synchronous_commit', 'off', true);
        END IF;
        RETURN QUERY SELECT c.allowed, c.used, c.oldest FROM ${s}.count_read(p_key, p_now, p_limit, p_window) c;
      END
      $fn$;
      CREATE OR REPLACE FUNCTION ${s}.read_flight(
        p_keys text[], p_expires bigint[], p_grants text[], p_claim_keys text[], p_clients text[],
        p_nows bigint[], p_limits integer[], p_windows bigint[],
        p_types text[], p_grant_ids text[], p_client_ids text[], p_subjects text[], p_events text[]
      )
      RETURNS TABLE (n integer, first_use boolean, quota text, grant_row json, seq bigint)
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        durable boolean := coalesce(array_length(p_types, 1), 0) > 0;
        inserted integer;
        g ${s}.grants;
        counted record;
        ignored text;
      BEGIN
        -- An audit event is acknowledged only once durable: with one, this transaction's commit waits
        -- for the WAL flush; gate calls alone commit without waiting (see recordJtiAndGetGrant).
        ignored := set_config('synchronous_commit', CASE WHEN durable THEN 'on' ELSE 'off' END, true);
        seq := NULL;
        FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
          INSERT INTO ${s}.jtis (key, expires_at) VALUES (p_keys[i], p_expires[i])
            ON CONFLICT (key) DO NOTHING;
          GET DIAGNOSTICS inserted = ROW_COUNT;
          g := NULL;
          SELECT * INTO g FROM ${s}.grants WHERE id = p_grants[i];
          n := i;
          first_use := inserted = 1;
          quota := NULL;
          grant_row := CASE WHEN g.id IS NULL THEN NULL ELSE row_to_json(g) END;
          IF first_use AND p_claim_keys[i] IS NOT NULL AND g.status = 'active'
            AND g.client_id = p_clients[i] AND g.expires_at > p_nows[i] THEN
            counted := ${s}.count_read(p_claim_keys[i], p_nows[i], p_limits[i], p_windows[i]);
            quota := counted::text;
          END IF;
          RETURN NEXT;
        END LOOP;
        IF durable THEN
          -- Rows numbered in input order (ORDER BY v.i): the k-th smallest seq is the k-th event's.
          RETURN QUERY WITH ins AS (
            INSERT INTO ${s}.audit_events (type, grant_id, client_id, subject, event)
            SELECT v.type, v.grant_id, v.client_id, v.subject, v.event::json
              FROM unnest(p_types, p_grant_ids, p_client_ids, p_subjects, p_events)
                WITH ORDINALITY AS v(type, grant_id, client_id, subject, event, i)
              ORDER BY v.i
            RETURNING ${s}.audit_events.seq
          )
          SELECT NULL::integer, NULL::boolean, NULL::text, NULL::json, ins.seq FROM ins ORDER BY ins.seq;
        END IF;
      END
      $fn$;
    `,
  },
]

/**
 * Bring `schema` up to date (or up to version `upTo`, for tests of a migration). Safe when several
 * instances start at once: everything runs in ONE transaction that first takes a transaction-scoped
 * advisory lock keyed on the schema, so a second instance waits, then sees the committed
 * `schema_migrations` rows and applies nothing. A failed migration rolls back completely (PostgreSQL
 * DDL is transactional).
 */
export async function migrate(db: Db, schema: string, upTo = Number.POSITIVE_INFINITY): Promise<void> {
  const s = quoteIdent(schema)
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`consentry:migrate:${schema}`])
    // Checked first so a role without CREATE on the database can still use an existing schema.
    const exists = await tx.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    if (exists.length === 0) await tx.exec(`CREATE SCHEMA ${s}`)
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
    `)
    const applied = new Set(
      (await tx.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`)).map(
        (r) => r.version,
      ),
    )
    for (const m of MIGRATIONS) {
      if (applied.has(m.version) || m.version > upTo) continue
      await tx.exec(m.sql(s))
      await tx.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ])
    }
  })
}
