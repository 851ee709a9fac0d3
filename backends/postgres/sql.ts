/**
 * The SQL of the PostgreSQL backend: one statement per transition, as
 * named constants built for one schema (the migrations are in
 * sql_migrations.ts). Owns no connection and runs nothing.
 *
 * Times are epoch ms, always passed in as parameters (the queue's clock),
 * never `now()`. They are stored as float8: a JS number is a float8, so
 * every time the queue makes (a fractional delay included) is stored
 * exactly, and the driver returns JS numbers without casts. Every statement that changes a job publishes its
 * notifications (`pg_notify`) in the same statement, so they are delivered
 * exactly when the change commits. Claim, complete, fail and cancel run in
 * plpgsql functions of the schema (sql_claim.ts, sql_retention.ts,
 * sql_fail.ts: their
 * plans are pinned, and a job removed as it finishes is deleted after its
 * final row was read); their statements here notify from what the functions
 * return. The enqueue's insert is in sql_enqueue.ts, the schedules' in
 * sql_schedule.ts, the import's in
 * sql_import.ts, the flows' (migration 6, SPEC §12) in sql_flows*.ts.
 *
 * Notification payloads are JSON arrays, first element a kind:
 * `["u", id, type, status, progress, message, attempt, result, error, at,
 * version]` an update; `["r", id]` an update too large to send (re-read the
 * job; of a job removed as it finished, its final update is kept a minute
 * for that: sql_final.ts); `["p", ...]` a pack of those two kinds; `["e", type, createdAt,
 * wakeAt, [ids]]` jobs enqueued; `["w", at]` a wake-up; `["c", id]` a
 * processing job lost its lease; `["h", type]` the queue ('') or a type
 * was paused (sql_control.ts).
 *
 * @module
 */

import { claimStatement, expireStatement } from "./sql_claim.ts";
import { notifyUpdates, rereadStatement, sweepFinal } from "./sql_final.ts";
import { afterInsert, insertStatement } from "./sql_enqueue.ts";
import { watchedGate } from "./sql_watchers.ts";

export { notifyUpdates };

/** Quotes an identifier (the schema name is validated before this). */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Columns read back as a JobRecord's raw row (prefix `j.`). Aliases are
 * single lowercase words, so a client with a column-name transform (such as
 * `postgres.camel`) returns them unchanged.
 */
const COLS = [
  "j.id",
  "j.type",
  "j.data",
  "j.priority",
  "j.max_attempts AS maxattempts",
  "j.run_at AS runat",
  "j.created_at AS createdat",
  "j.ttl",
  "j.expires_at AS expiresat",
  "j.key",
  "j.metadata",
  "j.status",
  "j.progress",
  "j.message",
  "j.result",
  "j.error",
  "j.attempt",
  "j.updated_at AS updatedat",
  "j.started_at AS startedat",
  "j.completed_at AS completedat",
  "j.lease_token AS leasetoken",
  "j.lease_until AS leaseuntil",
  "j.version",
  "j.keep_complete_age AS keepcompleteage",
  "j.keep_complete_count AS keepcompletecount",
  "j.keep_failed_age AS keepfailedage",
  "j.keep_failed_count AS keepfailedcount",
  "j.flow_id AS flowid",
  "j.flow_ref AS flowref",
  "j.flow_parents AS flowparents",
  "j.flow_continue AS flowcontinue",
  "j.job_group AS jobgroup",
].join(", ");

/**
 * A CTE body that turns off the WAL flush wait for this statement's commit.
 * Used where losing the change in a server crash only means the job runs
 * again (complete, fail, progress): delivery stays at least once.
 */
const ASYNC_COMMIT =
  "SELECT set_config('synchronous_commit', 'off', true) AS v";

/**
 * A CTE body that reports the jobs of `rows` (a CTE with status, type and
 * job_group, as they were) that were processing as stopped, when the
 * queue ($1) has limits (sql_limits.ts): one probe of the limits table
 * otherwise.
 */
function stoppedCte(
  s: string,
  rows: string,
  channel: string,
  now: string,
): string {
  return `SELECT ${s}.limits_stopped($1, ${channel}::text, ${now}::float8,
        array_agg(g.type), array_agg(g.job_group))
      FROM ${rows} g WHERE g.status = 'processing'
      HAVING count(*) > 0
        AND EXISTS (SELECT 1 FROM ${s}.limits m WHERE m.queue = $1)`;
}

/** Every statement of one schema. Parameter order is noted per statement. */
export interface Statements {
  /** $1 schema key: takes the migration lock (transaction-scoped). */
  lock: string;
  /** Reads the applied migration version. */
  version: string;
  /** $1 version: records a migration. */
  recordVersion: string;
  /**
   * $1 queue, $2 channel, $3 true when every job has the keep rules $4..$7
   * (kca, kcc, kfa, kfc: the keep rules' ages and counts), $8..$23 the
   * jobs column by column (sql_enqueue.ts, INSERT_COLUMNS, as records.ts's
   * insertArgs fills them: id, type, data, priority, max_attempts, run_at,
   * created_at, ttl, expires_at, key, metadata, grp, then each job's keep
   * rules, null when shared): inserts, skipping held keys; returns the
   * created ids.
   */
  insert: string;
  /**
   * As `insert`, for batches without keys (no conflict arbiter, so plain
   * inserts); returns one row with the `created` count.
   */
  insertAll: string;
  /**
   * As `insert`, for one job: its columns ($8..$23) are its values, not
   * arrays, and make one row without the functions that take a batch's
   * columns apart.
   */
  insertOne: string;
  /** As `insertAll`, for one job, as `insertOne` takes it. */
  insertOneAll: string;
  /**
   * As `insertAll`, then, seeing the new jobs, as `claim` with $24 now,
   * $25 types, $26 limit, $27 lease ms; returns as `claim` (the hand-off).
   */
  insertClaim: string;
  /** As `insertClaim`, for one job, as `insertOne` takes it. */
  insertOneClaim: string;
  /** $1 queue, $2 now, $3 keys (JSON): deletes expired holders of them. */
  dropExpiredHolders: string;
  /** $1 queue, $2 keys (JSON): who holds these keys. */
  holders: string;
  /**
   * $1 queue, $2 now, $3 channel, $4 types (JSON, or null), $5 limit,
   * $6 leaseMs:
   * expires leases, then claims. One placeholder row with `expired` and a
   * null id comes back when nothing was claimed.
   */
  claim: string;
  /** $1 queue, $2 now, $3 channel: expires leases only. */
  expire: string;
  /** $1 queue, $2 id, $3 token, $4 now, $5 leaseMs: returns lease_until. */
  heartbeat: string;
  /** $1 queue, $2 id, $3 token, $4 now, $5 channel, $6 progress, $7 message. */
  update: string;
  /**
   * $1 queue, $2 channel, $3 JSON [{ id, token, result, now }]: one row,
   * `lost` the ids whose lease no longer held (a JSON array as text).
   */
  complete: string;
  /**
   * $1 queue, $2 channel, $3 id, $4 token, $5 result, $6 now: `complete`
   * for one job; one row, `done` 1 or 0 (the lease no longer held).
   */
  completeOne: string;
  /** $1 queue, $2 id, $3 token, $4 now, $5 channel, $6 error, $7 retryAt. */
  fail: string;
  /**
   * $1 queue, $2 now, $3 channel, $4 JSON [{ id, token }], $5 runAt or
   * null: gives claimed jobs back to pending (due at runAt if given);
   * returns the released ids in the order given.
   */
  release: string;
  /** $1 queue, $2 id, $3 now, $4 channel, $5 error. */
  cancel: string;
  /**
   * $1 queue, $2 id, $3 now, $4 channel, $5 take key (boolean). A flow job
   * goes through retry_flow_job (sql_flows.ts).
   */
  retry: string;
  /**
   * $1 queue, $2 id, $3 now, $4 channel, $5 the error of an unfinished
   * flow job, cancelled before it goes (remove_flow_job, sql_flows.ts).
   */
  remove: string;
  /** $1 queue, $2 id, $3 now. */
  get: string;
  /**
   * $1 queue, $2 id: a job's update (ignores TTL: for re-reading a notified
   * job), or the final update kept of one removed as it finished
   * (sql_final.ts). Columns as an update's fields, `updatedat` its time.
   */
  reread: string;
  /** $1 queue, $2 now, $3 status, $4 type, $5 after, $6 limit. */
  list: string;
  /** $1 queue, $2 now. */
  stats: string;
  /**
   * $1 queue, $2 now, $3 limit, $4 channel: deletes expired jobs, a batch
   * at a time, and the kept final updates whose time is past, and drops
   * what flows whose last jobs went at the same moment left (`flows`, the
   * flows checked: sql_flows_gone.ts).
   */
  sweep: string;
  /**
   * $1 queue, $2 status, $3 cutoff, $4 type or null, $5 limit, $6 now:
   * deletes up to `limit` jobs (clean_jobs); returns `n`.
   */
  clean: string;
}

/** Builds the statements of one schema. */
export function statements(schema: string): Statements {
  const t = `${ident(schema)}.jobs`;
  const fn = ident(schema);
  const live = "(j.expires_at IS NULL OR j.expires_at > $NOW)";
  const liveAt = (now: string) => live.replace("$NOW", now);
  return {
    lock: "SELECT pg_advisory_xact_lock(27243, hashtext($1))",
    version: `SELECT coalesce(max(version), 0)::int AS v FROM ${
      ident(schema)
    }.migrations`,
    recordVersion: `INSERT INTO ${ident(schema)}.migrations (version) ` +
      "VALUES ($1)",
    insert: insertStatement(fn, true, false),
    insertAll: insertStatement(fn, false, false),
    insertOne: insertStatement(fn, true, true),
    insertOneAll: insertStatement(fn, false, true),
    dropExpiredHolders: `DELETE FROM ${t} j WHERE j.queue = $1
      AND j.held_key IN (SELECT json_array_elements_text($3::text::json))
      AND j.expires_at <= $2`,
    holders: `SELECT held_key AS heldkey, id FROM ${t}
      WHERE queue = $1
        AND held_key IN (SELECT json_array_elements_text($2::text::json))`,
    claim: claimStatement(fn, COLS, {
      now: "$2",
      channel: "$3",
      request: "$4::text, $5::int, $6::float8",
    }),
    insertClaim: claimStatement(fn, COLS, afterInsert(fn, false)),
    insertOneClaim: claimStatement(fn, COLS, afterInsert(fn, true)),
    expire: expireStatement(fn),
    heartbeat: `UPDATE ${t} SET lease_until = $4 + $5::float8
      WHERE queue = $1 AND id = $2 AND status = 'processing'
        AND lease_token = $3
      RETURNING lease_until AS until`,
    update: `WITH changed AS (
      UPDATE ${t} j SET progress = coalesce($6::float8, j.progress),
        message = coalesce($7::text, j.message),
        version = j.version + 1, updated_at = $4
      WHERE j.queue = $1 AND j.id = $2 AND j.status = 'processing'
        AND j.lease_token = $3
      RETURNING j.*
    ), notes AS (${notifyUpdates("changed", "$5")}),
    async AS (${ASYNC_COMMIT})
    SELECT (SELECT count(*) FROM changed)::int AS changed,
      (SELECT count(*) FROM notes)::int AS notes,
      (SELECT v FROM async) AS async`,
    complete: `WITH r AS (
      SELECT * FROM ${fn}.complete_jobs($1, $3::text, $2)
    ), done AS (SELECT * FROM r WHERE lost IS NULL),
    notes AS (${notifyUpdates("done", "$2", watchedGate(fn, "done", "$1"))}),
    async AS (${ASYNC_COMMIT})
    SELECT (SELECT count(*) FROM notes)::int AS notes,
      (SELECT v FROM async) AS async,
      (SELECT coalesce(json_agg(lost), '[]')::text FROM r
        WHERE lost IS NOT NULL) AS lost`,
    completeOne: `WITH done AS (
      SELECT * FROM ${fn}.complete_job($1, $3, $4, $5::text, $6::float8, $2)
    ), notes AS (${notifyUpdates("done", "$2", watchedGate(fn, "done", "$1"))}),
    async AS (${ASYNC_COMMIT})
    SELECT (SELECT count(*) FROM done)::int AS done,
      (SELECT count(*) FROM notes)::int AS notes,
      (SELECT v FROM async) AS async`,
    fail: `WITH failed AS (
      SELECT * FROM ${fn}.fail_job($1, $2, $3, $4::float8,
        $6::text, $7::float8, $5)
    ), notes AS (
      ${notifyUpdates("failed", "$5")}
      UNION ALL
      SELECT pg_notify($5, json_build_array('w', $7::float8)::text)
        FROM failed WHERE $7::float8 IS NOT NULL
    ), async AS (${ASYNC_COMMIT})
    SELECT status, (SELECT count(*) FROM notes)::int AS notes,
      (SELECT v FROM async) AS async FROM failed`,
    release: `WITH back AS (
      UPDATE ${t} j SET status = 'pending', attempt = j.attempt - 1,
        run_at = coalesce($5::float8, j.run_at),
        lease_token = NULL, lease_until = NULL,
        version = j.version + 1, updated_at = $2
      FROM ROWS FROM (json_to_recordset($4::text::json)
        AS (id text, token text)) WITH ORDINALITY AS r(id, token, ord)
      WHERE j.queue = $1 AND j.id = r.id AND j.status = 'processing'
        AND j.lease_token = r.token AND ${liveAt("$2")}
      RETURNING j.*, r.ord
    ), notes AS (
      ${notifyUpdates("back", "$3")}
      UNION ALL
      SELECT pg_notify($3,
        json_build_array('w', coalesce($5::float8, $2::float8))::text)
        WHERE EXISTS (SELECT 1 FROM back)
    )
    SELECT id, (SELECT count(*) FROM notes)::int AS notes
    FROM back ORDER BY ord`,
    cancel: `WITH changed AS (
      SELECT was, (job).* FROM ${fn}.cancel_job($1, $2,
        $3::float8, $5::text, $4)
    ), notes AS (
      SELECT pg_notify($4, json_build_array('c', id)::text) FROM changed
        WHERE was = 'processing'
      UNION ALL
      ${notifyUpdates("changed", "$4")}
    )
    SELECT (SELECT count(*) FROM changed)::int AS changed,
      (SELECT count(*) FROM notes)::int AS notes`,
    retry: `WITH changed AS (
      UPDATE ${t} j SET status = 'pending', attempt = 0, run_at = $3,
        error = NULL, result = NULL, progress = 0, message = '',
        completed_at = NULL, remove_at = NULL,
        version = j.version + 1, updated_at = $3,
        held_key = CASE WHEN $5::boolean AND NOT EXISTS (
          SELECT 1 FROM ${t} h WHERE h.queue = $1 AND h.held_key = j.key)
          THEN j.key END
      WHERE j.queue = $1 AND j.id = $2 AND j.flow_id IS NULL
        AND j.status IN ('failed', 'cancelled') AND ${liveAt("$3")}
      RETURNING j.*
    ), notes AS (
      ${notifyUpdates("changed", "$4")}
      UNION ALL
      SELECT pg_notify($4, json_build_array('w', $3::float8)::text)
        FROM changed
    ), flowed AS (
      SELECT ${fn}.retry_flow_job($1, $4, $3::float8, $2) AS ok
      WHERE NOT EXISTS (SELECT 1 FROM changed)
    )
    SELECT j.key, (SELECT count(*) FROM notes)::int AS notes
    FROM changed j
    UNION ALL
    SELECT NULL, 0 FROM flowed WHERE ok`,
    remove: `WITH gone AS (
      DELETE FROM ${t} j WHERE j.queue = $1 AND j.id = $2
        AND j.flow_id IS NULL
      RETURNING j.id, j.status, ${liveAt("$3")} AS live, j.type, j.job_group
    ), notes AS (
      SELECT pg_notify($4, json_build_array('c', id)::text) FROM gone
      WHERE live AND status = 'processing'
    ), stopped AS (${
      stoppedCte(ident(schema), "gone", "$4", "$3")
    }), flowed AS (
      SELECT ${fn}.remove_flow_job($1, $4, $3::float8, $2, $5::text) AS live
      WHERE NOT EXISTS (SELECT 1 FROM gone)
    )
    SELECT live, (SELECT count(*) FROM notes)::int
      + (SELECT count(*) FROM stopped)::int AS notes FROM gone
    UNION ALL
    SELECT live, 0 FROM flowed WHERE live IS NOT NULL`,
    get: `SELECT ${COLS} FROM ${t} j
      WHERE j.queue = $1 AND j.id = $2 AND ${liveAt("$3")}`,
    reread: rereadStatement(ident(schema)),
    list: `SELECT ${COLS} FROM ${t} j
      WHERE j.queue = $1 AND ${liveAt("$2")}
        AND ($3::text IS NULL OR j.status = $3::text)
        AND ($4::text IS NULL OR j.type = $4::text)
        AND ($5::text IS NULL OR j.id > $5::text)
      ORDER BY j.id LIMIT $6`,
    stats: `SELECT status, type, count(*)::int AS n FROM ${t} j
      WHERE j.queue = $1 AND ${liveAt("$2")} GROUP BY status, type`,
    clean: `SELECT ${fn}.clean_jobs($1, $2::text, $3::float8, $4::text,
      $5::int, $6::float8) AS n`,
    sweep: `WITH gone AS (
      DELETE FROM ${t} WHERE (queue, id) IN (
        SELECT queue, id FROM ${t}
        WHERE queue = $1 AND expires_at <= $2
        LIMIT $3 FOR UPDATE SKIP LOCKED)
      RETURNING status, type, job_group
    ), finals AS (${sweepFinal(ident(schema))}),
    stopped AS (${stoppedCte(ident(schema), "gone", "$4", "$2")}),
    rechecked AS (SELECT ${fn}.flows_recheck($1) AS n)
    SELECT count(*)::int AS n, (SELECT count(*) FROM stopped)::int AS s,
      (SELECT r.n FROM rechecked r) AS flows
    FROM gone`,
  };
}
