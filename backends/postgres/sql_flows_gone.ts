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
 * on, `flow_gone` first tries its queue's flow check (a transaction
 * advisory lock, one a queue, so that a delete of many flows' jobs holds
 * one lock, never one per flow):
 * - it gets it: it checks as before, in a statement of its own, so that
 *   the delete of any transaction that held the check before it is seen;
 * - another transaction holds it: it drops them if no job of the flow is
 *   left in its sight, and otherwise notes the flow in `flows_gone` (no
 *   key, so no insert ever waits for another) for the sweep to check.
 *
 * `flows_recheck(queue)`, run by the backend's background sweep, takes the
 * queue's flow check the same way (when it cannot, the next sweep tries
 * again), takes every note of the queue (so that notes cannot pile up
 * faster than sweeps go), then drops what each noted flow left if no job
 * of it is stored, in statements after the one that took the notes: a
 * note was committed with its transaction's delete, so the check sees
 * that delete, where a check made before the note's commit would still
 * see the job and, with the note gone, leave the results for good. A
 * note of a flow that still has jobs is forgotten too: the delete of its
 * last job checks again.
 *
 * @module
 */

import { FLOW_SETTINGS } from "./sql_flows.ts";

/** The advisory lock class of a queue's flow check (the queue's hash is the key). */
const CHECK_CLASS = 27246;

/** Tries the flow check of queue `queue`. */
function tryCheck(queue: string): string {
  return `pg_try_advisory_xact_lock(${CHECK_CLASS}, hashtext(${queue}))`;
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
      flow_id text COLLATE "C" NOT NULL
    );
    CREATE INDEX flows_gone_flow ON ${s}.flows_gone (queue, flow_id);
    CREATE OR REPLACE FUNCTION ${s}.flow_gone() RETURNS trigger
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $gone$
    BEGIN
      IF ${tryCheck("OLD.queue")} THEN
        ${dropLeft(s, "OLD.queue", "OLD.flow_id")}
      ELSIF EXISTS (SELECT 1 FROM ${s}.jobs j
          WHERE j.queue = OLD.queue AND j.flow_id = OLD.flow_id) THEN
        INSERT INTO ${s}.flows_gone (queue, flow_id)
        VALUES (OLD.queue, OLD.flow_id);
      ELSE
        ${dropLeft(s, "OLD.queue", "OLD.flow_id")}
      END IF;
      RETURN NULL;
    END
    $gone$;
    CREATE FUNCTION ${s}.flows_recheck(p_queue text) RETURNS integer
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $recheck$
    DECLARE
      v_flows text[];
      v_flow text COLLATE "C";
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM ${s}.flows_gone g
          WHERE g.queue = p_queue) OR NOT ${tryCheck("p_queue")} THEN
        RETURN 0;
      END IF;
      -- the notes first, then the checks, each a statement of its own: a
      -- note taken was committed with its transaction's delete, which the
      -- checks after see; a note committed since stays for the next sweep
      WITH taken AS (
        DELETE FROM ${s}.flows_gone g WHERE g.queue = p_queue
        RETURNING g.flow_id
      )
      SELECT array_agg(DISTINCT t.flow_id) INTO v_flows FROM taken t;
      FOREACH v_flow IN ARRAY coalesce(v_flows, '{}') LOOP
        ${dropLeft(s, "p_queue", "v_flow")}
      END LOOP;
      RETURN coalesce(cardinality(v_flows), 0);
    END
    $recheck$;`;
}
