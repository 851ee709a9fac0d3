/**
 * The claim lines of the PostgreSQL backend (backends/postgres/claim_lines.ts):
 * the claims of the first two queues to claim follow each other on a
 * connection of their own, while a third queue's, or any queue's of a pool
 * under five connections, go over the pool. Seen from the server: two
 * claims of a queue whose turns row another client holds locked wait in
 * one server process when they share a line, in two when they do not.
 * One throwaway server for the file; each test has a schema of its own.
 */

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { type Backend, createQueue, type Queue } from "../mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import { postgresFixture } from "./_support/postgres_fixture.ts";
import { sleep, waitFor } from "./_support/time.ts";

/** Bun's default per-test limit is 5 s; these start a server. */
const SLOW = { timeout: 60_000 };

describe("postgres claim lines", () => {
  const pg = postgresFixture();
  const { closers } = pg;
  let sql: postgres.Sql;

  before(() => {
    sql = postgres(pg.server.url, { max: 4, onnotice: () => {} });
    // Closed last, after the backends, as the fixture closes last first.
    closers.push(() => sql.end({ timeout: 1 }));
  });

  /** Queues `names` on one backend, each with a group limit and 4 jobs. */
  async function queues(
    schema: string,
    poolSize: number,
    names: string[],
  ): Promise<Queue[]> {
    const backend: Backend = postgresBackend({
      url: pg.server.url,
      schema,
      poolSize,
    });
    closers.push(() => backend.close());
    const list: Queue[] = [];
    for (const name of names) {
      const queue = createQueue({ backend, name });
      closers.push(() => queue.close());
      await queue.setLimits({ groups: { concurrency: 1 } });
      await queue.enqueueMany(Array.from({ length: 4 }, (_, i) => ({
        type: "t",
        data: null,
        options: { group: `g${i}` },
      })));
      list.push(queue);
    }
    return list;
  }

  /**
   * Holds the turns row of `queue` locked from another client (every
   * limited claim of that queue takes it first) until the returned
   * function is called.
   */
  async function hold(schema: string, queue: string): Promise<() => void> {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const held = new Promise<void>((r) => (locked = r));
    void sql.begin(async (t) => {
      await t.unsafe(
        `SELECT 1 FROM "${schema}".turns WHERE queue = $1 FOR UPDATE`,
        [queue],
      );
      locked();
      await gate;
    });
    await held;
    return release;
  }

  /** Server processes of the backend waiting for a lock. */
  async function waiting(): Promise<number> {
    const [row] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE application_name = 'jobline' AND wait_event_type = 'Lock'`;
    return row!.n as number;
  }

  /**
   * Two claims of `queue` while its turns row is held: they wait in
   * `expected` server processes; `meanwhile` runs while they wait.
   */
  async function twoHeld(
    schema: string,
    queue: Queue,
    expected: number,
    meanwhile?: () => Promise<void>,
  ) {
    const release = await hold(schema, queue.name);
    const claims = [queue.claimMany(1), queue.claimMany(1)];
    try {
      await waitFor(
        `${expected} claims of ${queue.name} waiting`,
        async () => (await waiting()) === expected,
      );
      await meanwhile?.();
      // The second claim of a line is sent, not yet run: it stays unseen.
      await sleep(300);
      assert.equal(await waiting(), expected);
    } finally {
      release();
    }
    const got = await Promise.all(claims);
    assert.deepEqual(got.map((jobs) => jobs.length), [1, 1]);
  }

  test(
    "the first two queues to claim each have a line, whose claims wait in one server process; a third queue's claims go over the pool",
    SLOW,
    async () => {
      const [a, b, c] = await queues("lines_three", 10, ["a", "b", "c"]);
      // The order of the first claims gives the lines: a, then b.
      for (const queue of [a!, b!, c!]) {
        assert.equal((await queue.claimMany(1)).length, 1);
      }
      await twoHeld("lines_three", a!, 1, async () => {
        // b's line is its own: its claim passes while a's wait.
        assert.equal((await b!.claimMany(1)).length, 1);
      });
      await twoHeld("lines_three", c!, 2);
    },
  );

  test(
    "with fewer than five connections in the pool, claims go over the pool",
    SLOW,
    async () => {
      const [a] = await queues("lines_small", 4, ["a"]);
      await twoHeld("lines_small", a!, 2);
    },
  );
});
