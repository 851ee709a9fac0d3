/**
 * The limit transitions of the PostgreSQL backend (SPEC §7.3): storing a
 * queue's limits (set_limits, sql_limits.ts: under the queue's `turns`
 * row, so no claim runs half under the old limits) and reading them back.
 * Claims enforce them in the claim function; nothing here counts.
 *
 * @module
 */

import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import type { Limits } from "../../src/limits_types.ts";
import type { Db } from "./db.ts";
import { ident } from "./sql.ts";
import { limitStatements } from "./sql_limits.ts";

const prepare = { prepare: true } as const;

/** setLimits and getLimits of a schema, each through `db.run`. */
export function createLimitCalls(db: Db, schema: string): BackendLimits {
  const s = limitStatements(ident(schema));
  const { sql, run } = db;
  return {
    setLimits: (queue, limits, { now }) =>
      run("setLimits", queue, now, async () => {
        await sql.unsafe(s.set, [
          queue,
          JSON.stringify(limits),
          db.channel(queue),
          now,
        ], prepare);
      }),
    getLimits: (queue, { now }) =>
      run("getLimits", queue, now, async () => {
        const [row] = await sql.unsafe(s.get, [queue], prepare);
        return row === undefined
          ? {}
          : JSON.parse(row.limits as string) as Limits;
      }),
  };
}
