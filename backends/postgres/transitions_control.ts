/**
 * The flow-control transitions of the PostgreSQL backend (pause, resume,
 * reschedule: sql_control.ts; clean: sql_retention.ts), one statement each,
 * with the Backend methods' own arguments. Like transitions.ts it holds no
 * lifecycle (`db.ts` wraps every call); the claim statement in sql.ts reads
 * the pause table itself.
 *
 * @module
 */

import { pausedStateOf } from "../../src/backend/paused.ts";
import type { Backend } from "../../src/backend/interface.ts";
import type { Sql } from "./db.ts";
import { controlStatements } from "./sql_control.ts";
import type { Statements } from "./sql.ts";

/** The flow-control transitions, as the Backend methods of the same name. */
export type ControlTransitions = Pick<
  Backend,
  "setPaused" | "pausedState" | "reschedule" | "clean"
>;

const prepare = { prepare: true } as const;

/**
 * Makes the flow-control transitions of one schema (`statements`: the
 * schema's own, which hold clean's).
 */
export function createControlTransitions(
  sql: Sql,
  schema: string,
  statements: Statements,
  channel: (queue: string) => string,
): ControlTransitions {
  const s = controlStatements(schema);
  return {
    async setPaused(queue, { type, paused, now }) {
      const rows = paused
        ? await sql.unsafe(
          s.pause,
          [queue, type ?? "", channel(queue)],
          prepare,
        )
        : await sql.unsafe(
          s.resume,
          [queue, type ?? "", channel(queue), now],
          prepare,
        );
      return rows.length > 0;
    },
    async pausedState(queue) {
      const rows = await sql.unsafe(s.paused, [queue], prepare);
      return pausedStateOf(rows.map((r) => r.type));
    },
    async reschedule(queue, id, { runAt, priority, now }) {
      const [row] = await sql.unsafe(s.reschedule, [
        queue,
        id,
        now,
        channel(queue),
        runAt ?? null,
        priority ?? null,
      ], prepare);
      return row?.changed === 1;
    },
    async clean(queue, { status, cutoff, type, limit, now }) {
      const [row] = await sql.unsafe(
        statements.clean,
        [queue, status, cutoff, type, limit, now],
        prepare,
      );
      return row!.n as number;
    },
  };
}
