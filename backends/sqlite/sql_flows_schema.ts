/**
 * The flow schema of the SQLite backend (SPEC §12), migration 6 of sql.ts,
 * as a named constant beside it (as sql_counts.ts holds migration 5); the
 * statements are in sql_flows.ts. Runs nothing.
 *
 * A flow job keeps its links in its own row: `flow_id`, `flow_link` (its
 * FlowLink as JSON: id, ref, parents by ref, onParentFailure; the one
 * column a read of any job adds), `flow_children` (its dependents' ids as a
 * JSON array, null when none), `flow_delay` (its own delay, `runAt -
 * createdAt` as enqueued, counted again from its release), `waiting_on`
 * (its parents not yet finished for it) and `blocked_by` (the parent whose
 * failure cancelled it, for retry's re-arm). A waiting job has state -1.
 * A plain job has nulls there, and no statement of a plain job's claim or
 * finish writes them: the flow index, on `flow_id` alone, is never touched
 * by them either.
 *
 * `jobline_flow_results` keeps what a job with dependents finished with,
 * for `parentResults` after retention removed it, until the flow's last
 * stored job goes (the trigger of migration 11): a job that failed may be
 * retried after every other job of its flow finished. (Until migration 11,
 * `jobline_flows` counted each flow's unfinished jobs and both went at 0;
 * it dropped that table.)
 *
 * @module
 */

/**
 * Migration 6: the flow columns and index, the counts and the results (by
 * flow first, so that dropping a flow's is one range of the table; the
 * unique index finds one job's).
 */
export const FLOWS_MIGRATION = `
ALTER TABLE jobline_jobs ADD COLUMN flow_id TEXT;
ALTER TABLE jobline_jobs ADD COLUMN flow_link TEXT;
ALTER TABLE jobline_jobs ADD COLUMN flow_children TEXT;
ALTER TABLE jobline_jobs ADD COLUMN flow_delay INTEGER;
ALTER TABLE jobline_jobs ADD COLUMN waiting_on INTEGER;
ALTER TABLE jobline_jobs ADD COLUMN blocked_by TEXT;
CREATE INDEX jobline_jobs_flow ON jobline_jobs (queue, flow_id)
  WHERE flow_id IS NOT NULL;
CREATE TABLE jobline_flows (
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  unfinished INTEGER NOT NULL,
  PRIMARY KEY (queue, id)
) WITHOUT ROWID;
CREATE TABLE jobline_flow_results (
  queue TEXT NOT NULL,
  job_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  status TEXT NOT NULL,
  result TEXT,
  error TEXT,
  PRIMARY KEY (queue, flow_id, job_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX jobline_flow_results_job
  ON jobline_flow_results (queue, job_id);`;

/**
 * Migration 11: a flow's kept results go with its last stored job, found
 * by the flow index after each delete of a job of a flow (whatever deletes
 * it: retention, remove, clean, expiry), instead of with its last
 * unfinished job; the count of unfinished jobs that decided that goes.
 */
export const FLOW_RESULTS_MIGRATION = `
DROP TABLE jobline_flows;
CREATE TRIGGER jobline_flow_gone AFTER DELETE ON jobline_jobs
  WHEN old.flow_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobline_jobs
    WHERE queue = old.queue AND flow_id = old.flow_id)
BEGIN
  DELETE FROM jobline_flow_results
    WHERE queue = old.queue AND flow_id = old.flow_id;
END;`;
