/**
 * Migration 20 of the PostgreSQL backend, as SQL text: a flow's kept
 * results (and its count row) go even when two transactions delete its
 * last jobs at the same moment. Holds SQL text only and runs nothing;
 * sql_migrations.ts lists the migration, and the sweep statement
 * (sql.ts) calls `flows_recheck`.
 *
 * Migration 18's `flow_gone` (sql_flows_schema.ts) drops them after the
 * delete of a flow's last stored job, but two transactions that delete
 * the last two each still saw the other's and kept them. From migration 20
 * on, `flow_gone` first tries the flow's turn (the transaction advisory
 * lock that retry_flow_job and cancel_flow take, sql_flows_retry.ts):
 * - it gets it: it checks as before, in a statement of its own, so that
 *   the delete of any transaction that held the turn before it is seen;
 * - another transaction holds it: it notes the flow in `flows_gone` and
 *   waits for nothing, so two batches of deletes can never wait for each
 *   other.
 *
 * `flows_recheck(queue)`, run by the backend's background sweep, takes
 * each noted flow's turn the same way (skipping a flow whose turn is
 * held: the next sweep tries again), drops what the flow left if no job
 * of it is stored, and forgets the note. A note of a flow that still has
 * jobs is forgotten too: the delete of its last job checks again.
 *
 * @module
 */

import { FLOW_SETTINGS } from "./sql_flows.ts";

/** The flow's turn, as retry_flow_job and cancel_flow take it. */
function turn(queue: string, flow: string): string {
  return `hashtextextended(${queue} || E'\\n' || (${flow}) COLLATE "default", 0)`;
}

/** Drops what flow `flow` of `queue` left if no job of it is stored. */
function dropLeft(s: string, queue: string, flow: string): string {
  return `IF NOT EXISTS (SELECT 1 FROM ${s}.jobs j
          WHERE j.queue = ${queue} AND j.flow_id = ${flow}) THEN
        DELETE FROM ${s}.flow_results x
        WHERE x.queue = ${queue} AND x.flow_id = ${flow};
        DELETE FROM ${s}.flows w WHERE w.queue = ${queue} AND w.id = ${flow};
      END IF;`;
}

/**
 * Migration 20 (`s` the quoted schema): the `flows_gone` table,
 * `flow_gone` made again, and `flows_recheck`.
 */
export function flowsGoneMigration(s: string): string {
  return `CREATE TABLE ${s}.flows_gone (
      queue text NOT NULL,
      flow_id text COLLATE "C" NOT NULL,
      PRIMARY KEY (queue, flow_id)
    );
    CREATE OR REPLACE FUNCTION ${s}.flow_gone() RETURNS trigger
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $gone$
    BEGIN
      IF pg_try_advisory_xact_lock(${turn("OLD.queue", "OLD.flow_id")}) THEN
        ${dropLeft(s, "OLD.queue", "OLD.flow_id")}
      ELSE
        INSERT INTO ${s}.flows_gone (queue, flow_id)
        VALUES (OLD.queue, OLD.flow_id) ON CONFLICT DO NOTHING;
      END IF;
      RETURN NULL;
    END
    $gone$;
    CREATE FUNCTION ${s}.flows_recheck(p_queue text) RETURNS integer
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $recheck$
    DECLARE
      v_flow text COLLATE "C";
      v_n integer := 0;
    BEGIN
      FOR v_flow IN SELECT g.flow_id FROM ${s}.flows_gone g
        WHERE g.queue = p_queue LIMIT 100 FOR UPDATE SKIP LOCKED LOOP
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(${
    turn("p_queue", "v_flow")
  });
        ${dropLeft(s, "p_queue", "v_flow")}
        DELETE FROM ${s}.flows_gone g
        WHERE g.queue = p_queue AND g.flow_id = v_flow;
        v_n := v_n + 1;
      END LOOP;
      RETURN v_n;
    END
    $recheck$;`;
}
