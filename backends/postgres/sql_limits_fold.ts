/**
 * Migration 9's parts of the limited claim (SPEC §7.4), as SQL text: the
 * version switch of the limit functions, and the fragments with which
 * claim_limited (sql_limits_claim.ts) and lanes_refresh (sql_limits_migrations.ts)
 * serve the lanes of groups whose job just stopped as they stand, instead
 * of writing them unparked first. Holds SQL text only and runs nothing;
 * sql_limits_migrations.ts (foldMigration) assembles the migration.
 *
 * @module
 */

/**
 * The migration that makes a limit function: 7 (limits and groups); 9,
 * where a claim serves the lanes its group's stop unparks without writing
 * them unparked first (sql_limits_migrations.ts, foldMigration); or 11, where a round
 * with more claimable lanes than it may serve leaves the lanes it filled
 * unparked (sql_limits_migrations.ts, lazyParkMigration); or 12, where a round that
 * lowers a stopped lane's priority unparks it, so that the claim serves it
 * at that priority (sql_limits_migrations.ts, lowerMigration); or 13, where the
 * claim's statements over arrays of groups probe each lane by its key
 * (claim_round), the lanes parked for a full group are found through an
 * index of their own (lanes_full), so a claim that finds none parked reads
 * no lane for them, and lanes_refresh counts the claimable lanes in turn
 * order (sql_limits_migrations.ts, fullLanesMigration); or 15 and 16
 * (raiseMigration, keptLaneMigration); or 21, where a round parks every
 * lane it fills again, as migration 9 did (sql_limits_migrations.ts,
 * eagerParkMigration); or 22, where it leaves them claimable when four
 * times as many claimable lanes as it may serve come after those it read
 * (sql_limits_migrations.ts, plentyMigration); or 23, where lanes_full is
 * gone and the lanes parked full are found by their key, and a round
 * takes a job by the row address its heads read
 * (sql_limits_migrations.ts, addressMigration).
 */
export type LimitsVersion = 7 | 9 | 11 | 12 | 13 | 15 | 16 | 21 | 22 | 23;

/** `a` in the functions of migration 9 on, else `b`. */
export function nine(v: LimitsVersion, a: string, b: string): string {
  return v >= 9 ? a : b;
}

/**
 * The statement that unparks the lanes, parked for a full group, of the
 * groups of `from` (a row source `g` with `grp`) that pass `where`: each
 * found by a primary-key probe of its own (LATERAL, kept apart by OFFSET
 * 0), so that no statement reads every lane of the queue. From migration
 * 13 on (where no caller passes a `where`), only when the queue has a lane
 * parked for a full group (one probe of lanes_full), and each probe reads
 * lanes_full, which holds only those; from migration 23 on (no lanes_full)
 * always, each probe by the lane's key.
 */
export function unparkFull(
  s: string,
  from: string,
  where: string,
  v: LimitsVersion = 9,
): string {
  if (v >= 13) {
    if (where !== "") throw new Error("unparkFull: no `where` from v13 on");
    const unpark = `UPDATE ${s}.lanes l SET wake = NULL
          WHERE l.ctid = ANY(ARRAY(SELECT x.tid FROM ${from}
            CROSS JOIN LATERAL (SELECT o.ctid AS tid FROM ${s}.lanes o
              WHERE o.queue = p_queue AND o.grp = g.grp
                AND o.wake = 'infinity' OFFSET 0) x));`;
    return v >= 23 ? unpark : `IF ${anyFull(s)} THEN
          ${unpark}
        END IF;`;
  }
  return `UPDATE ${s}.lanes l SET wake = NULL
      WHERE l.ctid = ANY(ARRAY(SELECT x.at FROM ${from}
        CROSS JOIN LATERAL (SELECT o.ctid AS at, o.wake FROM ${s}.lanes o
          WHERE o.queue = p_queue AND o.grp = g.grp OFFSET 0) x
        WHERE ${where}x.wake = 'infinity'));`;
}

/**
 * Whether the queue has a lane parked for a full group (migration 13: one
 * probe of lanes_full).
 */
function anyFull(s: string): string {
  return `EXISTS (SELECT 1 FROM ${s}.lanes o
          WHERE o.queue = p_queue AND o.wake = 'infinity')`;
}

/** The variables of migration 9's claim_limited that the fragments use. */
export const DECLARE_9 = `
      v_stopped text[];
      v_sg text[];
      v_sp integer[];
      v_st bigint[];
      v_served text[] := '{}';`;

/**
 * The best claimable lane of the queue (migration 9): of the lanes
 * unparked and of those stopped (v_sg, v_sp, v_st) not yet seen.
 */
export function bestLane9(s: string): string {
  return `SELECT u.grp, u.prio, u.turn INTO c1 FROM (
          (SELECT l.grp, l.prio, l.turn FROM ${s}.lanes l
          WHERE l.queue = p_queue AND l.wake IS NULL AND l.grp <> ALL(v_skip)
          ORDER BY l.prio DESC, l.turn LIMIT 1)
          UNION ALL
          (SELECT x.grp, x.prio, x.turn
          FROM unnest(v_sg, v_sp, v_st) x(grp, prio, turn)
          WHERE x.grp <> ALL(v_skip) ORDER BY x.prio DESC, x.turn LIMIT 1)
        ) u ORDER BY u.prio DESC, u.turn LIMIT 1;`;
}

/**
 * Migration 9's fold. When fewer lanes are claimable than the claim asks
 * for (its groups are busy, as in a drain; lanes_refresh counts them only
 * when some group's job stopped), lanes_refresh leaves the
 * lanes of the groups that just had a job stop parked and returns those
 * groups; the lanes parked for a full group are read once (grp, prio,
 * turn) into v_sg, v_sp, v_st, and the claim serves them as if unparked,
 * with one write each, and unparks at its end those it did not serve.
 * Otherwise (the claim will likely be served by lanes already claimable)
 * lanes_refresh unparks them at once, as migration 7 did. From migration
 * 13 on, the stopped lanes are read only when some lane is parked full,
 * each through lanes_full; from migration 23 on, each by its key.
 */
export function stoppedLanes(s: string, v: LimitsVersion = 9): string {
  if (v >= 13) {
    return `v_stopped := ${s}.lanes_refresh(p_queue, p_now, p_limit);
      IF cardinality(v_stopped) > 0${v >= 23 ? "" : ` AND ${anyFull(s)}`} THEN
        SELECT array_agg(l.grp), array_agg(l.prio), array_agg(l.turn)
        INTO v_sg, v_sp, v_st FROM unnest(v_stopped) g
        CROSS JOIN LATERAL (SELECT o.grp, o.prio, o.turn
          FROM ${s}.lanes o WHERE o.queue = p_queue AND o.grp = g
            AND o.wake = 'infinity' OFFSET 0) l;
      END IF;`;
  }
  return `v_stopped := ${s}.lanes_refresh(p_queue, p_now, p_limit);
      IF cardinality(v_stopped) > 0 THEN
        SELECT array_agg(l.grp), array_agg(l.prio), array_agg(l.turn)
        INTO v_sg, v_sp, v_st FROM unnest(v_stopped) g
        CROSS JOIN LATERAL (SELECT o.grp, o.prio, o.turn, o.wake
          FROM ${s}.lanes o WHERE o.queue = p_queue AND o.grp = g
          OFFSET 0) l
        WHERE l.wake = 'infinity';
      END IF;`;
}

/**
 * After a round (migration 9): the groups it served, and the stopped lanes
 * it read (served, parked, dropped or skipped) taken out of those the
 * next round may read.
 */
export const SERVED_9 = `
          v_served := v_served || h.o_served;
          IF cardinality(h.o_seen) > 0 AND cardinality(v_sg) > 0 THEN
            SELECT array_agg(x.grp), array_agg(x.prio), array_agg(x.turn)
            INTO v_sg, v_sp, v_st
            FROM unnest(v_sg, v_sp, v_st) x(grp, prio, turn)
            WHERE NOT EXISTS (SELECT 1 FROM unnest(h.o_seen) y(grp)
              WHERE y.grp = x.grp);
          END IF;`;

/** At the end of a claim (migration 9): the stopped lanes it did not serve unparked. */
export function unparkUnserved(s: string, v: LimitsVersion = 9): string {
  return `IF cardinality(v_stopped) > 0 THEN
        ${
    unparkFull(
      s,
      `(SELECT g AS grp FROM unnest(v_stopped) g
          EXCEPT SELECT g FROM unnest(v_served) g) g`,
      "",
      v,
    )
  }
      END IF;
      `;
}
