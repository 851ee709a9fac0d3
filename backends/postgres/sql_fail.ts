/**
 * The fail and cancel functions of the PostgreSQL backend, as SQL text:
 * `fail_job` and `cancel_job`, made again by each migration from 4 to 8,
 * with the keep rule of the one job they finish. Part of the finishing
 * functions that `finishFunctions` (sql_retention.ts) assembles per
 * migration; built of the pieces in sql_finish.ts. Holds SQL text only and
 * runs nothing.
 *
 * @module
 */

import {
  create,
  FINISH_SETTINGS,
  type FinishVersion,
  keepOf,
  retainAtNow,
  settleOne,
  seven,
  six,
} from "./sql_finish.ts";
import { stoppedStep } from "./sql_limits.ts";

/**
 * `fail_job(queue, id, token, now, error, retry_at)`: records a failed
 * attempt of a job processing under `token` (the token alone says so, as
 * in complete_jobs): back to pending at `retry_at`, or, with null, failed
 * for good and its `keep_failed` rule applied. Returns the job as it ends
 * (none when the lease no longer holds).
 */
export function failFunction(s: string, v: FinishVersion): string {
  return `${create(v)} ${s}.fail_job(p_queue text, p_id text, p_token text,
      p_now float8, p_error text, p_retry_at float8${
    six(v, ", p_channel text")
  })
      RETURNS SETOF ${s}.jobs
    LANGUAGE plpgsql VOLATILE ROWS 1 ${FINISH_SETTINGS}
    AS $fail$
    DECLARE
      r record;
      v_drop tid[];
      v_keep integer;
    BEGIN
      UPDATE ${s}.jobs j SET error = p_error,
        status = CASE WHEN p_retry_at IS NULL THEN 'failed' ELSE 'pending' END,
        run_at = coalesce(p_retry_at, j.run_at),
        held_key = CASE WHEN p_retry_at IS NULL THEN NULL ELSE j.held_key END,
        completed_at = CASE WHEN p_retry_at IS NULL THEN p_now END,
        remove_at = CASE WHEN p_retry_at IS NULL
          THEN p_now + j.keep_failed_age END,
        lease_token = NULL, lease_until = NULL,
        version = j.version + 1, updated_at = p_now
      WHERE j.queue = p_queue AND j.id = p_id AND j.lease_token = p_token
      RETURNING j AS job, j.ctid AS at INTO r;
      IF NOT FOUND THEN
        RETURN;
      END IF;
      RETURN NEXT r.job;${
    seven(
      v,
      `
      ${stoppedStep(s, "(SELECT (r.job).*) e", "p_now")}`,
    )
  }
      IF p_retry_at IS NOT NULL THEN
        RETURN;
      END IF;${settleOne(s, v, "(r.job).flow_id", "failed")}
      ${dropOrKeep("r", "failed")}
      ${retainAtNow(s, "'failed'", v)}
    END
    $fail$;`;
}

/**
 * `cancel_job(queue, id, now, error)`: cancels a live pending or processing
 * job and applies its `keep_failed` rule. Returns its status before (`was`)
 * and the job as it ends; no row when there was nothing to cancel.
 */
export function cancelFunction(s: string, v: FinishVersion): string {
  return `${create(v)} ${s}.cancel_job(p_queue text, p_id text,
      p_now float8, p_error text${six(v, ", p_channel text")})
      RETURNS TABLE (was text, job ${s}.jobs)
    LANGUAGE plpgsql VOLATILE ROWS 1 ${FINISH_SETTINGS}
    AS $cancel$
    DECLARE
      r record;
      v_drop tid[];
      v_keep integer;
    BEGIN
      SELECT j.status INTO was FROM ${s}.jobs j
      WHERE j.queue = p_queue AND j.id = p_id
        AND j.status IN (${six(v, "'waiting', ")}'pending', 'processing')
        AND (j.expires_at IS NULL OR j.expires_at > p_now)
      FOR UPDATE;
      IF NOT FOUND THEN
        RETURN;
      END IF;
      UPDATE ${s}.jobs j SET status = 'cancelled', error = p_error,
        held_key = NULL, lease_token = NULL, lease_until = NULL,
        completed_at = p_now, remove_at = p_now + j.keep_failed_age,
        version = j.version + 1, updated_at = p_now
      WHERE j.queue = p_queue AND j.id = p_id
      RETURNING j AS job, j.ctid AS at INTO r;
      job := r.job;
      RETURN NEXT;${
    seven(
      v,
      `
      IF was = 'processing' THEN
        ${stoppedStep(s, "(SELECT (r.job).*) e", "p_now")}
      END IF;`,
    )
  }${settleOne(s, v, "(r.job).flow_id", "cancelled")}
      ${dropOrKeep("r", "failed")}
      ${retainAtNow(s, "'cancelled'", v)}
    END
    $cancel$;`;
}

/**
 * Sets `v_drop` and `v_keep` from one finished job `r` (`r.job`, `r.at`)
 * and its `keep_<rule>` columns: removed at once with age 0 or count 0;
 * with a count (and an age other than 0), the newest `count` kept.
 */
function dropOrKeep(r: string, rule: "complete" | "failed"): string {
  return keepOf(
    `(${r}.job).keep_${rule}_age`,
    `(${r}.job).keep_${rule}_count`,
    `${r}.at`,
  );
}
