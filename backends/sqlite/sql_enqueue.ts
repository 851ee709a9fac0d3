/**
 * The enqueue SQL of the SQLite backend (transitions_enqueue.ts): the
 * multi-row insert of new jobs, in its two forms, and the read of the job
 * that holds a key. Runs nothing.
 *
 * @module
 */

/**
 * The values a plain job binds (insertJobs with `plain`): queue, id, type,
 * data, priority, max_attempts, run_at, created_at, metadata, state,
 * created_at again (updated_at), the complete and failed age rules.
 */
export const PLAIN_VALUES = 13;

/**
 * The values any job binds (insertJobs without `plain`): PLAIN_VALUES,
 * then ttl, expires_at, key, key again (held), the complete and failed
 * count rules, group or null.
 */
export const JOB_VALUES = PLAIN_VALUES + 7;

/** The columns of PLAIN_VALUES, then the literals each row adds. */
const PLAIN_COLUMNS = `queue, id, type, data, priority, max_attempts,
  run_at, created_at, metadata, state, updated_at, keep_complete_age,
  keep_failed_age, status, lease_until, tallied`;

/** The columns JOB_VALUES adds. */
const MORE_COLUMNS = `ttl, expires_at, key, key_held, keep_complete_count,
  keep_failed_count, job_group`;

/**
 * The multi-row insert of `rows` new jobs, each bound as JOB_VALUES
 * values, or as PLAIN_VALUES with `plain` (jobs with no key, time to live,
 * group or count rule: most batches; the columns left out are null). Rows
 * are stored with `tallied` 1: the caller counts them (tallies.ts), not
 * the insert trigger.
 *
 * Without `plain`, a row whose key is held (by a stored job or an earlier
 * row of the same statement) is stored not, and returns nothing; each row
 * stored returns `[id, seq]`. With it, no row can conflict and none is
 * returned: binding seven nulls fewer and returning nothing stores such a
 * batch some 30% faster (bench:peers `--only=sqlite-floor`).
 *
 * Parameters are anonymous (`?`): node:sqlite binds numbered ones (`?12`)
 * by looking each up by name, which grows with the number of parameters
 * and made a 100-row insert cost more per job than 100 inserts of one.
 *
 * `lease_until` holds a blank blob as big as what the first claim adds to
 * the row (token, times, status): rows are stored back to back, so a claim
 * that grows them splits pages and writes several more of them per commit.
 * Nothing reads `lease_until` without a lease (state 2, a token), so the
 * placeholder is never seen.
 */
export function insertJobs(rows: number, plain: boolean): string {
  const values = Array(PLAIN_VALUES).fill("?").join(", ") +
    ", 'pending', zeroblob(36), 1";
  const row = plain
    ? `(${values})`
    : `(${values}, ${Array(JOB_VALUES - PLAIN_VALUES).fill("?").join(", ")})`;
  const insert = `INSERT INTO jobline_jobs (${PLAIN_COLUMNS}${
    plain ? "" : `, ${MORE_COLUMNS}`
  })
VALUES ${Array(rows).fill(row).join(",\n")}`;
  return plain ? insert : `${insert}
ON CONFLICT (queue, key_held) WHERE key_held IS NOT NULL DO NOTHING
RETURNING id, seq`;
}

/** ?1 = queue, ?2 = key */
export const KEY_HOLDER =
  "SELECT id FROM jobline_jobs WHERE queue = ?1 AND key_held = ?2";
