/**
 * The job counts that the SQLite backend's busiest statements keep
 * themselves (schema 9, sql_counts.ts): the enqueue's insert, the claims
 * and a turn's completions flip each row's `tallied`, so the count
 * triggers leave those rows alone, and the caller then moves the counts of
 * the whole batch here, in the same transaction: one write per queue and
 * type instead of one trigger run per job. Every other statement is still
 * counted by the triggers.
 *
 * @module
 */

import type { Tx } from "./db.ts";

/**
 * Moves the counts of `rows` (rows of one queue, each job's type at
 * `typeAt`) by `sql` (TALLY_ENQUEUED, TALLY_CLAIMED or TALLY_COMPLETED of
 * sql_counts.ts): one statement per type among them.
 *
 * @example
 * ```ts ignore
 * const rows = tx.stmt(SQL.CLAIM_ANY).all(queue, now, 10, token, until);
 * tally(tx, queue, TALLY_CLAIMED, rows, 1);
 * ```
 */
export function tally(
  tx: Tx,
  queue: string,
  sql: string,
  rows: readonly (readonly unknown[])[],
  typeAt: number,
): void {
  if (rows.length === 0) return;
  const first = rows[0]![typeAt] as string;
  let others: Map<string, number> | null = null;
  let n = 0;
  for (const row of rows) {
    const type = row[typeAt] as string;
    if (type === first) n++;
    else {
      others ??= new Map();
      others.set(type, (others.get(type) ?? 0) + 1);
    }
  }
  const stmt = tx.stmt(sql);
  stmt.run(queue, first, n);
  if (others !== null) {
    for (const [type, count] of others) stmt.run(queue, type, count);
  }
}
