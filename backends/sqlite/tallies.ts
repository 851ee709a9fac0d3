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
 * Moves the counts of `items` (jobs of one queue, each of type
 * `typeOf(item)`) by `sql` (TALLY_ENQUEUED, TALLY_CLAIMED or
 * TALLY_COMPLETED of sql_counts.ts): one statement per type among them.
 *
 * @example
 * ```ts ignore
 * const rows = tx.stmt(CLAIM.CLAIM_ANY).all(queue, now, 10, token, until);
 * tally(tx, queue, TALLY_CLAIMED, rows, (row) => row[1] as string);
 * ```
 */
export function tally<T>(
  tx: Tx,
  queue: string,
  sql: string,
  items: readonly T[],
  typeOf: (item: T) => string,
): void {
  if (items.length === 0) return;
  const counts = new Map<string, number>();
  for (const item of items) {
    const type = typeOf(item);
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  const stmt = tx.stmt(sql);
  for (const [type, n] of counts) stmt.run(queue, type, n);
}
