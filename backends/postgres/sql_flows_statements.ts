/**
 * The statements of the flow transitions in the PostgreSQL backend (SPEC
 * §12), as SQL text: enqueue a flow, read it, cancel it, read a job's
 * parents' results. Holds SQL text only and runs nothing;
 * transitions_flows.ts runs them, on the schema of sql_flows_schema.ts.
 *
 * @module
 */

import { updatePayload } from "./sql_final.ts";
import { arrivalsOf } from "./sql_limits.ts";

/** The flow statements of one schema. */
export interface FlowStatements {
  /**
   * $1 queue, $2 channel, $3 flow id, $4 the jobs as a JSON array
   * (records.ts, flowJson): stores them in the order given, waiting or
   * pending, and the flow's row; notifies an update per job, in order, and
   * one wake when any is pending.
   */
  enqueue: string;
  /** $1 queue, $2 flow id, $3 now: `ref, id, status, parents` by seq. */
  get: string;
  /** $1 queue, $2 channel, $3 now, $4 flow id, $5 error: `n` cancelled. */
  cancel: string;
  /**
   * $1 queue, $2 id, $3 now: per parent `ref`, and from its job, or else
   * its kept copy, `status, result, error` (all null when neither).
   */
  parents: string;
}

/** Builds the flow statements of a schema (`s` quoted). */
export function flowStatements(s: string): FlowStatements {
  const t = `${s}.jobs`;
  const cols = "id text, type text, data text, priority int, " +
    "max_attempts int, run_at float8, created_at float8, metadata text, " +
    "kca float8, kcc int, kfa float8, kfc int, ref text, parents text, " +
    "cont boolean, children text[], waiting int, grp text";
  const names = cols.split(", ").map((c) => c.split(" ")[0]).join(", ");
  return {
    enqueue: `WITH ins AS (
      INSERT INTO ${t} (queue, id, type, data, priority, max_attempts, run_at,
        created_at, metadata, status, updated_at, keep_complete_age,
        keep_complete_count, keep_failed_age, keep_failed_count, flow_id,
        flow_ref, flow_parents, flow_continue, flow_children, flow_delay,
        waiting_on, job_group)
      SELECT $1, i.id, i.type, i.data, i.priority, i.max_attempts, i.run_at,
        i.created_at, i.metadata,
        CASE WHEN i.waiting > 0 THEN 'waiting' ELSE 'pending' END,
        i.created_at, i.kca, i.kcc, i.kfa, i.kfc, $3, i.ref, i.parents,
        i.cont, i.children, i.run_at - i.created_at, i.waiting, i.grp
      FROM ROWS FROM (json_to_recordset($4::text::json) AS (${cols}))
        WITH ORDINALITY AS i(${names}, ord)
      ORDER BY i.ord
      RETURNING *
    ), arrived AS (
      ${arrivalsOf(s, "ins")}
    ), flow AS (
      INSERT INTO ${s}.flows (queue, id, unfinished)
      SELECT $1, $3, count(*) FROM ins
      RETURNING 1
    ), notes AS (
      SELECT pg_notify($2, m.msg) FROM (
        SELECT '["p",' || string_agg(q, ',' ORDER BY seq) || ']' AS msg
        FROM (SELECT seq, ${updatePayload()} AS q,
            (row_number() OVER (ORDER BY seq) - 1) / 25 AS chunk
          FROM ins) x
        GROUP BY chunk ORDER BY chunk OFFSET 0) m
      UNION ALL
      SELECT pg_notify($2, json_build_array('w', min(run_at))::text)
        FROM ins WHERE status = 'pending' HAVING count(*) > 0
    )
    SELECT (SELECT count(*) FROM flow)::int AS flows,
      (SELECT count(*) FROM notes)::int AS notes`,
    get: `SELECT j.flow_ref AS ref, j.id, j.status, j.flow_parents AS parents
      FROM ${t} j
      WHERE j.queue = $1 AND j.flow_id = $2
        AND (j.expires_at IS NULL OR j.expires_at > $3)
      ORDER BY j.seq`,
    cancel: `SELECT ${s}.cancel_flow($1, $2, $3::float8, $4, $5::text) AS n`,
    parents: `SELECT pp.key AS ref,
        CASE WHEN p.id IS NULL THEN r.status ELSE p.status END AS status,
        CASE WHEN p.id IS NULL THEN r.result ELSE p.result END AS result,
        CASE WHEN p.id IS NULL THEN r.error ELSE p.error END AS error
      FROM ${t} c
        CROSS JOIN LATERAL json_each_text(c.flow_parents::json) pp
        LEFT JOIN ${t} p ON p.queue = $1 AND p.id = pp.value
          AND (p.expires_at IS NULL OR p.expires_at > $3)
        LEFT JOIN ${s}.flow_results r ON r.queue = $1
          AND r.id = pp.value
      WHERE c.queue = $1 AND c.id = $2
        AND (c.expires_at IS NULL OR c.expires_at > $3)`,
  };
}
