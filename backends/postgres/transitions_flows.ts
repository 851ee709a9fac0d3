/**
 * The flow transitions of the PostgreSQL backend (SPEC §12): store a flow,
 * read it, cancel it, read a job's parents' results; each one statement
 * (sql_flows_statements.ts), with the BackendFlows methods' own arguments. What flows
 * do to complete, fail, cancel, retry, remove and claim happens inside
 * those transitions' own statements. Like transitions.ts it holds no
 * lifecycle (`db.ts` wraps every call).
 *
 * @module
 */

import type {
  BackendFlows,
  ParentResult,
} from "../../src/backend/interface_flows.ts";
import type { JobStatus } from "../../src/types.ts";
import type { Sql } from "./db.ts";
import { flowJson } from "./records.ts";
import { ident } from "./sql.ts";
import { flowStatements } from "./sql_flows_statements.ts";

const prepare = { prepare: true } as const;

/** A deadlock victim: two steps of one flow crossed; the step runs again. */
const DEADLOCK = "40P01";

/** Makes the flow transitions of one schema. */
export function createFlowTransitions(
  sql: Sql,
  schema: string,
  channel: (queue: string) => string,
): BackendFlows {
  const s = flowStatements(ident(schema));
  return {
    async enqueueFlow(queue, flow) {
      if (flow.jobs.length === 0) return;
      await sql.unsafe(s.enqueue, [
        queue,
        channel(queue),
        flow.id,
        flowJson(flow.jobs),
      ], prepare);
    },

    async getFlow(queue, id, { now }) {
      const rows = await sql.unsafe(s.get, [queue, id, now], prepare);
      if (rows.length === 0) return null;
      return {
        id,
        jobs: rows.map((r) => ({
          ref: r.ref as string,
          id: r.id as string,
          status: r.status as JobStatus,
          parents: JSON.parse(r.parents as string),
        })),
      };
    },

    async cancelFlow(queue, id, { reason, now }) {
      const error = JSON.stringify({ name: "CancelledError", message: reason });
      for (let attempt = 1;; attempt++) {
        try {
          const [row] = await sql.unsafe(s.cancel, [
            queue,
            channel(queue),
            now,
            id,
            error,
          ], prepare);
          return (row!.n as number) > 0;
        } catch (err) {
          if ((err as { code?: string }).code !== DEADLOCK || attempt >= 3) {
            throw err;
          }
        }
      }
    },

    async parentResults(queue, id, { now }) {
      const rows = await sql.unsafe(s.parents, [queue, id, now], prepare);
      const out: Record<string, ParentResult> = {};
      for (const r of rows) {
        const status = r.status as string | null;
        if (
          status !== "complete" && status !== "failed" &&
          status !== "cancelled"
        ) continue;
        out[r.ref as string] = {
          status,
          result: status === "complete" ? r.result as string | null : null,
          error: status === "complete" || r.error === null
            ? null
            : JSON.parse(r.error as string),
        };
      }
      return out;
    },
  };
}
