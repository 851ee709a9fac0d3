/**
 * Final updates in the PostgreSQL backend, as SQL text: the payload of an
 * update notification, and what becomes of one too large to notify
 * (`REREAD_BYTES` or more) when its job is removed as it finishes (SPEC
 * §7.6: its subscribers still get the final update). Such an update is
 * announced as a re-read marker, and a re-read finds no row: so the step
 * that deletes those jobs (sql_finish.ts, retainSteps) copies their final
 * update into `final_updates` (migration 5), where the re-read
 * (sql.ts, `reread`) reads it for `FINAL_KEEP_MS`; the background sweep
 * (db.ts) deletes it then. From migration 14 the count rule and the sweep
 * of jobs past their removal time (sql_retained.ts) keep it too, for the
 * jobs among theirs that finished within that time (`deleteSaving`). The
 * job itself is gone at once from every read.
 * Also the packed notification of updates (`notifyUpdates`). Holds SQL
 * text only, runs nothing and imports nothing.
 *
 * @module
 */

/** An update of this many bytes or more is notified as a re-read marker. */
export const REREAD_BYTES = 7900;

/**
 * How long (ms, on the queue's clock) the final update of a job removed as
 * it finished stays readable: a listener re-reads as the marker arrives,
 * within milliseconds.
 */
export const FINAL_KEEP_MS = 60_000;

/**
 * The payload of one changed row, columns prefixed by `p` (such as `g.`, or
 * none): `["u", id, type, status, progress, message, attempt, result,
 * error, at, version]`. Concatenated rather than json_build_array, which
 * costs half as much again per row: ids and types are plain (validated)
 * characters, message, result and error are escaped by to_json, and
 * nothing else can be null.
 */
export function updatePayload(p = ""): string {
  return `'["u","' || ${p}id || '","' || ${p}type || '","' || ${p}status
  || '",' || ${p}progress || ',' || to_json(${p}message) || ',' || ${p}attempt || ','
  || coalesce(to_json(${p}result)::text, 'null') || ','
  || coalesce(to_json(${p}error)::text, 'null') || ',' || ${p}updated_at || ','
  || ${p}version || ']'`;
}

/**
 * A CTE body that notifies the updates of the rows of `cte`, packed: one
 * notification `["p", update, ...]` for up to 25 updates of under 300 bytes
 * each (a notification holds at most 8,000 bytes), a pack of its own for a
 * larger one, and a re-read marker `["r", id]` for one of 7,900 bytes or
 * more. Packing saves the server and every listener the work of one
 * notification per job. With a `gate` (a boolean SQL expression), only
 * when it holds (sql_watchers.ts). (sql.ts re-exports it.)
 */
export function notifyUpdates(
  cte: string,
  channel: string,
  gate?: string,
): string {
  return `SELECT pg_notify(${channel}, '["p",' || string_agg(p, ',') || ']')
    FROM (SELECT CASE WHEN octet_length(q) < 300
          THEN row_number() OVER () / 25 ELSE -row_number() OVER () END AS chunk,
        CASE WHEN octet_length(q) < ${REREAD_BYTES} THEN q
          ELSE '["r","' || id || '"]' END AS p
      FROM (SELECT id, ${updatePayload()} AS q FROM ${cte}${
    gate === undefined ? "" : `\n        WHERE ${gate}`
  }) x) y
    GROUP BY chunk`;
}

/** The columns of an update, as `final_updates` stores them. */
const COLUMNS = "id, type, status, progress, message, attempt, result, " +
  "error, updated_at, version";

/**
 * Migration 5, its table part: the final updates of jobs removed as they
 * finished, by job, with the time they may be deleted at.
 */
export function finalUpdatesTable(s: string): string {
  return `CREATE TABLE ${s}.final_updates (
      queue text NOT NULL,
      id text COLLATE "C" NOT NULL,
      type text NOT NULL,
      status text NOT NULL,
      progress float8 NOT NULL,
      message text NOT NULL,
      attempt integer NOT NULL,
      result text,
      error text,
      updated_at float8 NOT NULL,
      version integer NOT NULL,
      remove_at float8 NOT NULL,
      PRIMARY KEY (queue, id)
    );
    CREATE INDEX final_updates_removal ON ${s}.final_updates (queue, remove_at);`;
}

/**
 * A plpgsql statement of schema `s` (quoted) that deletes the jobs at the
 * ctids of `drop` (a tid[] variable) and keeps the final update of those
 * whose update is too large to notify. A job of the same id removed again
 * replaces its entry.
 */
export function dropSaving(s: string, drop: string): string {
  const cols = COLUMNS.split(", ");
  return `WITH gone AS (
          DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(${drop}) RETURNING j.*
        )
        INSERT INTO ${s}.final_updates AS f (queue, ${COLUMNS}, remove_at)
        SELECT g.queue, ${cols.map((c) => `g.${c}`).join(", ")},
          g.updated_at + ${FINAL_KEEP_MS}
        FROM gone g
        WHERE octet_length(${updatePayload("g.")}) >= ${REREAD_BYTES}
        ON CONFLICT (queue, id) DO UPDATE SET ${
    [...cols.slice(1), "remove_at"].map((c) => `${c} = excluded.${c}`).join(
      ", ",
    )
  };`;
}

/**
 * From migration 14: a plpgsql statement of schema `s` (quoted) that
 * deletes the jobs at the ctids of `ctids` (a tid[] SQL expression) and,
 * as dropSaving, keeps the final update of those whose update is too large
 * to notify, but only of those a re-read may still ask for: whose kept
 * update would outlive `now` (its time plus FINAL_KEEP_MS later than it),
 * so that deleting old jobs writes nothing. With `into` (an integer
 * variable), sets it to how many jobs were deleted. For the count rule and
 * the sweep of the jobs whose removal time has passed (sql_retained.ts),
 * which may take jobs that finished in the same step.
 */
export function deleteSaving(
  s: string,
  ctids: string,
  now: string,
  into?: string,
): string {
  const cols = COLUMNS.split(", ");
  const save =
    `INSERT INTO ${s}.final_updates AS f (queue, ${COLUMNS}, remove_at)
          SELECT g.queue, ${cols.map((c) => `g.${c}`).join(", ")},
            g.updated_at + ${FINAL_KEEP_MS}
          FROM gone g
          WHERE g.updated_at + ${FINAL_KEEP_MS} > ${now}
            AND octet_length(${updatePayload("g.")}) >= ${REREAD_BYTES}
          ON CONFLICT (queue, id) DO UPDATE SET ${
      [...cols.slice(1), "remove_at"].map((c) => `${c} = excluded.${c}`).join(
        ", ",
      )
    }`;
  const gone = `WITH gone AS (
          DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(${ctids})
          RETURNING j.queue, ${cols.map((c) => `j.${c}`).join(", ")}
        )`;
  return into === undefined
    ? `${gone}
        ${save};`
    : `${gone}, saved AS (
          ${save}
        )
        SELECT count(*) INTO ${into} FROM gone;`;
}

/**
 * $1 queue, $2 id: a job's current update (ignoring TTL) from its row, or,
 * once it was removed as it finished, its final update if kept. Columns as
 * the update's fields (`updatedat` the time).
 */
export function rereadStatement(s: string): string {
  const cols = COLUMNS.replace("updated_at", "updated_at AS updatedat");
  return `SELECT ${cols} FROM (
      SELECT ${COLUMNS}, 0 AS o FROM ${s}.jobs WHERE queue = $1 AND id = $2
      UNION ALL
      SELECT ${COLUMNS}, 1 FROM ${s}.final_updates
        WHERE queue = $1 AND id = $2
    ) x ORDER BY o LIMIT 1`;
}

/** $1 queue, $2 now: deletes the kept final updates whose time is past. */
export function sweepFinal(s: string): string {
  return `DELETE FROM ${s}.final_updates WHERE queue = $1 AND remove_at <= $2`;
}
