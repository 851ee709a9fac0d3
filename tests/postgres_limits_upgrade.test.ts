/**
 * A PostgreSQL store under a group limit upgrades from schema version 22
 * to the current one in the middle of a drain (issue 12): migration 23
 * drops the index of lanes parked full and gives the round's lane heads a
 * row address. Claims made by the version-22 functions leave lanes parked
 * for their full groups and jobs running; after the upgrade those jobs
 * finish, their lanes are served again, and the rest drains with never
 * two jobs of one group running at once.
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { postgresBackend } from "../backends/postgres/mod.ts";
import {
  type PostgresServer,
  startPostgres,
} from "./_support/postgres_server.ts";
import {
  LATEST,
  schemaAt,
  schemaVersion,
} from "./_support/postgres_versions.ts";

/** Bun's default per-test limit is 5 s; this migrates a schema twice. */
const SLOW = { timeout: 120_000 };
const T0 = 1_800_000_000_000;
const SCHEMA = "limits_v22";
const GROUPS = 10;
const PER_GROUP = 3;

describe("postgres limits: upgrade from schema version 22", () => {
  let server: PostgresServer;
  let sql: postgres.Sql;

  before(async () => {
    server = await startPostgres();
    sql = postgres(server.url, { max: 1, onnotice: () => {} });
  });

  after(async () => {
    await sql?.end();
    server?.destroy();
  });

  /** The names of the indexes on the schema's lanes. */
  async function laneIndexes(): Promise<string[]> {
    const rows = await sql.unsafe(
      `SELECT indexname AS name FROM pg_indexes
      WHERE schemaname = $1 AND tablename = 'lanes' ORDER BY 1`,
      [SCHEMA],
    );
    return rows.map((r) => r.name as string);
  }

  test(
    "lanes parked full by version-22 claims are served once their jobs stop, and the rest drains one job a group at a time",
    SLOW,
    async () => {
      await schemaAt(sql, SCHEMA, 22);
      // What a version-22 store holds: a group limit, grouped jobs and
      // their arrivals (as the enqueue statements append them).
      await sql.unsafe(
        `INSERT INTO ${SCHEMA}.limits (queue, limits)
        VALUES ('q', '{"groups":{"concurrency":1}}')`,
      );
      for (let n = 0; n < GROUPS * PER_GROUP; n++) {
        await sql.unsafe(
          `INSERT INTO ${SCHEMA}.jobs (queue, id, type, data, priority,
            max_attempts, run_at, created_at, metadata, status, updated_at,
            job_group)
          VALUES ('q', $1, 't', 'null', 0, 3, $2, $2, '{}', 'pending', $2,
            $3)`,
          [`job-${String(n).padStart(3, "0")}`, T0, `g${n % GROUPS}`],
        );
      }
      await sql.unsafe(
        `INSERT INTO ${SCHEMA}.arrivals (queue, grp, prio, run_at, seq)
        SELECT queue, job_group, max(priority), min(run_at), min(seq)
        FROM ${SCHEMA}.jobs GROUP BY queue, job_group`,
      );
      // Six jobs claimed by the version-22 claim: their lanes park full.
      const old = await sql.unsafe(
        `SELECT (c.job).id, (c.job).job_group AS grp,
          (c.job).lease_token AS token
        FROM ${SCHEMA}.claim_jobs('q', $1, NULL, 6, 60000, 'c') c`,
        [T0],
      );
      assert.equal(old.length, 6);
      const [parked] = await sql.unsafe(
        `SELECT count(*)::int AS n FROM ${SCHEMA}.lanes
        WHERE wake = 'infinity'`,
      );
      assert.equal(parked!.n, 6, "each claimed group's lane parked full");
      assert.ok((await laneIndexes()).includes("lanes_full"));

      const backend = postgresBackend({ url: server.url, schema: SCHEMA });
      try {
        // The first call migrates the schema.
        assert.equal(
          (await backend.get("q", old[0]!.id, { now: T0 }))?.status,
          "processing",
        );
        assert.equal(await schemaVersion(sql, SCHEMA), LATEST);
        assert.ok(!(await laneIndexes()).includes("lanes_full"));

        const claim = async (limit: number) =>
          await backend.claim("q", {
            types: null,
            limit,
            leaseMs: 60_000,
            now: T0,
          });
        // Every group with a job running is full: only the other four
        // serve.
        const next = await claim(10);
        const busy = new Set(old.map((j) => j.grp as string));
        assert.equal(next.length, GROUPS - busy.size);
        for (const job of next) assert.ok(!busy.has(job.group!), job.group);
        for (const job of old) {
          await backend.complete("q", { id: job.id, token: job.token }, "1", {
            now: T0,
          });
        }
        // Their stops serve the lanes parked full by version 22.
        const served = await claim(10);
        assert.deepEqual(
          served.map((j) => j.group).sort(),
          [...busy].sort(),
        );

        // The rest drains: no claim takes a job of a group whose job runs.
        const running = new Map<string, string>();
        const finish = async (jobs: typeof next) => {
          for (const job of jobs) {
            running.delete(job.group!);
            await backend.complete(
              "q",
              { id: job.id, token: job.lease!.token },
              "1",
              { now: T0 },
            );
          }
        };
        const take = (jobs: typeof next) => {
          for (const job of jobs) {
            assert.ok(!running.has(job.group!), `${job.group} twice`);
            running.set(job.group!, job.id);
          }
          return jobs;
        };
        take(next);
        take(served);
        let done = old.length;
        let held = [...next, ...served];
        while (held.length > 0) {
          await finish(held);
          done += held.length;
          held = take(await claim(4));
        }
        assert.equal(done, GROUPS * PER_GROUP);
        const [left] = await sql.unsafe(
          `SELECT count(*)::int AS n FROM ${SCHEMA}.jobs
          WHERE status <> 'complete'`,
        );
        assert.equal(left!.n, 0);
      } finally {
        await backend.close();
      }
    },
  );
});
