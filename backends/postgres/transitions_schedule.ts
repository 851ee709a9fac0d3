/**
 * The schedule transitions of the PostgreSQL backend (SPEC §8): put,
 * remove, list, and fire, which moves a schedule on and enqueues its job in
 * one transaction, only if the schedule still has the version the caller
 * read. The job goes in through transitions.ts's enqueue, joined to that
 * transaction as a user's `{ tx }` enqueue is, so a fired job is stored,
 * keyed and announced (at commit) as an enqueued one is. Like
 * transitions.ts, it holds no lifecycle (`db.ts` wraps every call) and
 * reads no clock of its own. Put and remove lock the queue's row of
 * removed versions first (sql_schedule.ts), so a re-created schedule never
 * repeats a version of the one removed.
 *
 * @module
 */

import type {
  BackendSchedules,
  EnqueueOutcome,
} from "../../src/backend/interface.ts";
import type { Sql } from "./db.ts";
import { toSchedule } from "./records.ts";
import { ident } from "./sql.ts";
import { scheduleStatements } from "./sql_schedule.ts";
import type { Transitions } from "./transitions.ts";

/** The schedule transitions, as the Backend methods of the same name. */
export type ScheduleTransitions = BackendSchedules;

const prepare = { prepare: true } as const;

/**
 * Makes the schedule transitions of one schema, over the client and the
 * enqueue of the job transitions.
 */
export function createScheduleTransitions(
  sql: Sql,
  schema: string,
  enqueue: Transitions["enqueue"],
): ScheduleTransitions {
  const s = scheduleStatements(ident(schema));
  return {
    async putSchedule(queue, { name, definition, nextRunAt }) {
      const row = await sql.begin(async (tx) => {
        const [removed] = await tx.unsafe(s.lock, [queue], prepare);
        const [row] = await tx.unsafe(
          s.put,
          [queue, name, definition, nextRunAt, removed!.version],
          prepare,
        );
        // No row for the same definition: the stored schedule, as it is.
        return row ?? (await tx.unsafe(s.get, [queue, name], prepare))[0];
      });
      return toSchedule(row!);
    },

    async removeSchedule(queue, name) {
      return await sql.begin(async (tx) => {
        await tx.unsafe(s.lock, [queue], prepare);
        return (await tx.unsafe(s.remove, [queue, name], prepare)).length > 0;
      });
    },

    async listSchedules(queue, { dueBy }) {
      const rows = dueBy === null
        ? await sql.unsafe(s.all, [queue], prepare)
        : await sql.unsafe(s.due, [queue, dueBy], prepare);
      return rows.map(toSchedule);
    },

    async fireSchedule(queue, fire, { now }) {
      const outcome = await sql.begin(async (tx) => {
        const moved = await tx.unsafe(s.fire, [
          queue,
          fire.name,
          fire.version,
          fire.nextRunAt,
        ], prepare);
        if (moved.length === 0) return null;
        const [out] = await enqueue(
          tx as unknown as Sql,
          queue,
          [fire.job],
          now,
        );
        return out!;
      });
      return outcome as EnqueueOutcome | null;
    },
  };
}
