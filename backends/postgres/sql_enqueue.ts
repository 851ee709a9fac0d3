/**
 * The enqueue's insert in the PostgreSQL backend, as SQL text: the columns
 * a batch of new jobs travels in (records.ts, insertArgs, fills them) and
 * the statement that inserts them, notifies the workers and adds the
 * arrivals of groups (sql_limits.ts), as CTEs that a claim may follow in
 * the same statement (the hand-off, src/handoff.ts). Holds SQL text only;
 * sql.ts names the six forms in its Statements.
 *
 * A batch goes column by column: `ROWS FROM` over one function per column
 * (`json_array_elements_text` for text, `unnest` of an array literal for
 * numbers; a column sent as null, which no job of the batch sets, is
 * padded with nulls). One JSON array of objects (`json_to_recordset`) cost
 * the server four times as much to read: 2.1 ms for 1,000 jobs against
 * 0.5 ms. A job enqueued alone goes as one row of values instead.
 *
 * @module
 */

import type { ClaimAfter } from "./sql_claim.ts";
import { arrivalsOf } from "./sql_limits.ts";

/**
 * The columns of a batch of new jobs, in the order of the insert
 * statement's $8..$23, with their SQL types: the job's fields, then its
 * keep rules (null when the batch shares them: $3..$7).
 */
export const INSERT_COLUMNS: readonly (readonly [string, string])[] = [
  ["id", "text"],
  ["type", "text"],
  ["data", "text"],
  ["priority", "int"],
  ["max_attempts", "int"],
  ["run_at", "float8"],
  ["created_at", "float8"],
  ["ttl", "float8"],
  ["expires_at", "float8"],
  ["key", "text"],
  ["metadata", "text"],
  ["grp", "text"],
  ["kca", "float8"],
  ["kcc", "int"],
  ["kfa", "float8"],
  ["kfc", "int"],
];

/** The row source's column names, as `i(...)` names them. */
const NAMES = `${INSERT_COLUMNS.map(([name]) => name).join(", ")}, ord`;

/** A batch's jobs as rows, from its columns. */
const COLUMNS = `ROWS FROM (${
  INSERT_COLUMNS.map(([, type], c) =>
    type === "text"
      ? `json_array_elements_text($${c + 8}::text::json)`
      : `unnest($${c + 8}::text::${type}[])`
  ).join(",\n        ")
})
        WITH ORDINALITY AS i(${NAMES})`;

/** One job as a row, from its values. */
const ONE_ROW = `(VALUES (${
  INSERT_COLUMNS.map(([, type], c) => `$${c + 8}::${type}`).join(", ")
}, 1))
        AS i(${NAMES})`;

/**
 * The insert of schema `s` (quoted) as CTEs: `ins` (with `keys`, skipping
 * held keys), `arrived` (the arrivals of its groups) and `enqueued` (its
 * notifications); `one` takes one job's values rather than a batch's
 * columns. Only `ins` runs unless the statement reads the others.
 */
export function insertCtes(s: string, keys: boolean, one: boolean): string {
  return `ins AS (
      INSERT INTO ${s}.jobs (queue, id, type, data, priority, max_attempts,
        run_at, created_at, ttl, expires_at, key, held_key, metadata, status,
        updated_at, keep_complete_age, keep_complete_count, keep_failed_age,
        keep_failed_count, job_group)
      SELECT $1, i.id, i.type, i.data, i.priority, i.max_attempts, i.run_at,
        i.created_at, i.ttl, i.expires_at, i.key, i.key, i.metadata,
        'pending', i.created_at,
        CASE WHEN $3::boolean THEN $4::float8 ELSE i.kca END,
        CASE WHEN $3::boolean THEN $5::int ELSE i.kcc END,
        CASE WHEN $3::boolean THEN $6::float8 ELSE i.kfa END,
        CASE WHEN $3::boolean THEN $7::int ELSE i.kfc END, i.grp
      FROM ${one ? ONE_ROW : COLUMNS}
      ORDER BY i.ord
      ${
    keys
      ? "ON CONFLICT (queue, held_key) WHERE held_key IS NOT NULL DO NOTHING"
      : ""
  }
      RETURNING id, type, created_at, run_at, seq, queue, job_group,
        priority, status
    ),
    arrived AS (${arrivalsOf(s, "ins")} RETURNING 1),
    enqueued AS (
      SELECT pg_notify($2, json_build_array('e', type, created_at,
        min(run_at), json_agg(id ORDER BY seq))::text)
      FROM (SELECT *, (row_number() OVER (ORDER BY seq) - 1) / 200 AS chunk
        FROM ins) x
      GROUP BY type, created_at, chunk
    )`;
}

/**
 * The insert of schema `s` (quoted): with `keys`, skipping held keys and
 * returning the created ids, else returning the `created` count; `one`
 * takes one job's values rather than a batch's columns.
 */
export function insertStatement(
  s: string,
  keys: boolean,
  one: boolean,
): string {
  return `WITH ${insertCtes(s, keys, one)}
    ${
    keys
      ? "SELECT id, (SELECT count(*) FROM enqueued) AS n FROM ins"
      : "SELECT (SELECT count(*) FROM ins)::int AS created, (SELECT count(*) FROM enqueued)::int AS n"
  }`;
}

/**
 * What a claim after the insert of schema `s` (no keys; `one` job or a
 * batch) in the same statement is made of: the insert's CTEs, and the
 * claim's now ($24), channel ($2) and request ($25 types, $26 limit, $27
 * lease ms). The limit is read only once the insert, its arrivals and its
 * notifications are done, so the claim runs after them: it sees the new
 * jobs (a volatile function's queries see what its calling statement
 * changed before the call), and a job's "pending" update is sent before
 * its "processing" one.
 */
export function afterInsert(s: string, one: boolean): ClaimAfter {
  return {
    before: insertCtes(s, false, one),
    now: "$24",
    channel: "$2",
    request: `$25::text, CASE WHEN (SELECT count(*) FROM ins)
        + (SELECT count(*) FROM arrived) + (SELECT count(*) FROM enqueued) >= 0
        THEN $26::int END, $27::float8`,
  };
}
