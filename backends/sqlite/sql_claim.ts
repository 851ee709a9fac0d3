/**
 * The claim statements of the SQLite backend, as named constants: the one
 * read that decides which steps a claim takes (CLAIM_GUARD), the update
 * every claim makes, and the claims by any type, by types, without the
 * paused types, and of the jobs the claim of limits and groups chose
 * (lanes.ts). transitions_claim.ts runs them; the other transitions'
 * statements are in sql.ts. Holds SQL text only and runs nothing.
 *
 * @module
 */

import { FLOW, FLOW_COLUMNS, KEEP, KEEP_COLUMNS, LIVE } from "./sql.ts";
import { grouped } from "./sql_limits_schema.ts";

/**
 * ?1 = queue, ?2 = now: whether EXPIRE_LEASES (first) and PROMOTE_DELAYED
 * (second) would change a row, and whether anything of the queue is paused
 * (third), 1 or 0; whether a job with a group is due (fourth), and the
 * queue's limits (fifth, JSON, null when none), for the claim of limits and
 * groups (transitions_limits.ts). Each reads one index entry at most.
 */
export const CLAIM_GUARD = `SELECT
  EXISTS (SELECT 1 FROM jobline_jobs
    WHERE queue = ?1 AND state = 2 AND lease_until <= ?2),
  EXISTS (SELECT 1 FROM jobline_jobs
    WHERE queue = ?1 AND state = 1 AND run_at <= ?2),
  EXISTS (SELECT 1 FROM jobline_paused WHERE queue = ?1),
  EXISTS (SELECT 1 FROM jobline_jobs
    WHERE queue = ?1 AND state = 0 AND ${grouped()}),
  (SELECT limits FROM jobline_limits WHERE queue = ?1)`;

/** ?1 = queue, ?2 = now: 1 when a lease of the queue has run out. */
export const LEASES_OUT = `SELECT EXISTS (SELECT 1 FROM jobline_jobs
  WHERE queue = ?1 AND state = 2 AND lease_until <= ?2)`;

/**
 * The update of every claim: due jobs (state 0, so pending) become
 * processing, `tallied` flipped so that the caller counts them
 * (tallies.ts), not the status trigger.
 */
const CLAIM_SET = `UPDATE jobline_jobs SET state = 2, status = 'processing',
  attempt = attempt + 1, started_at = ?2, updated_at = ?2,
  lease_token = ?4 || seq, lease_until = ?5, version = version + 1,
  tallied = 1 - tallied
WHERE state = 0 AND seq IN `;

/**
 * What a claim reads back (as an array, see CLAIMED_COLUMNS); the columns
 * the claim itself set are known without reading them.
 */
const CLAIMED = `id, type, data, priority, max_attempts, run_at, created_at,
  ttl, expires_at, key, metadata, progress, message, error, attempt, version,
  seq, ${KEEP}, ${FLOW}, job_group`;

/** The positions of CLAIMED's columns. */
export const CLAIMED_COLUMNS = [
  "id",
  "type",
  "data",
  "priority",
  "max_attempts",
  "run_at",
  "created_at",
  "ttl",
  "expires_at",
  "key",
  "metadata",
  "progress",
  "message",
  "error",
  "attempt",
  "version",
  "seq",
  ...KEEP_COLUMNS,
  ...FLOW_COLUMNS,
  "job_group",
] as const;

/**
 * The due jobs without a group: the plain claim runs only while no job with
 * a group is due (see CLAIM_GUARD), and reads them through the partial due
 * indexes.
 */
const DUE = `FROM jobline_jobs WHERE queue = ?1 AND state = 0
  AND job_group IS NULL AND ${LIVE}`;

/**
 * A claim's LIMIT (?3). Written as an expression on purpose: SQLite plans a
 * bare `LIMIT ?3` by its bound value, so node:sqlite's binding on every call
 * makes it prepare the claim again each time (more than doubling its cost
 * on Deno and Node); the plan is the same either way.
 */
const LIMIT = "LIMIT CAST(?3 AS INTEGER)";

/**
 * ?1 queue, ?2 now, ?3 limit, ?4 token prefix, ?5 lease until: claims the
 * best due jobs of any type.
 */
export const CLAIM_ANY = `${CLAIM_SET}(SELECT seq ${DUE}
  ORDER BY priority DESC, seq ${LIMIT})
RETURNING ${CLAIMED}`;

/**
 * As CLAIM_ANY, leaving out the paused types (run only while some type of
 * the queue is paused and the queue itself is not).
 */
export const CLAIM_UNPAUSED = `${CLAIM_SET}(SELECT seq ${DUE}
  AND type NOT IN (SELECT type FROM jobline_paused WHERE queue = ?1)
  ORDER BY priority DESC, seq ${LIMIT})
RETURNING ${CLAIMED}`;

/**
 * The claim for `count` types: as CLAIM_ANY, types in ?6, ?7, ... Each type
 * reads at most `limit` rows from its own index, then the best win.
 */
export function claimTypes(count: number): string {
  if (count === 1) {
    return `${CLAIM_SET}(SELECT seq ${DUE} AND type = ?6
  ORDER BY priority DESC, seq ${LIMIT})
RETURNING ${CLAIMED}`;
  }
  const parts = Array.from(
    { length: count },
    (_, i) =>
      `SELECT * FROM (SELECT seq, priority ${DUE} AND type = ?${
        i + 6
      } ORDER BY priority DESC, seq ${LIMIT})`,
  );
  return `${CLAIM_SET}(SELECT seq FROM (${parts.join(" UNION ALL ")})
  ORDER BY priority DESC, seq ${LIMIT})
RETURNING ${CLAIMED}`;
}

/**
 * ?2 now, ?4 token prefix, ?5 lease until, ?6 seqs as a JSON array: claims
 * the jobs chosen by the claim of limits and groups (?1 and ?3 are
 * unused), in any order.
 */
export const CLAIM_LIST = `${CLAIM_SET}(SELECT value FROM json_each(?6))
RETURNING ${CLAIMED}`;
