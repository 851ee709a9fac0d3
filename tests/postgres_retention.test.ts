/**
 * Retention on PostgreSQL beyond the conformance suite, on a throwaway
 * server: a store made by the previous schema (version 3) upgrades and its
 * jobs keep working, completions made together apply their rules per job,
 * a finishing step deletes a bounded batch of jobs past their removal time,
 * a lease that runs out on the last attempt trims by count, and a job
 * removed as it finishes with an update too large to notify still gives its
 * subscribers the final update. Time moves on the queue's clock.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  createQueue,
  type JobUpdate,
  type Queue,
  type QueueOptions,
  subscribe,
} from "../mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import { schemaAt } from "./_support/postgres_versions.ts";
import { postgresFixture } from "./_support/postgres_fixture.ts";
import { waitFor } from "./_support/time.ts";
import { completeOne } from "./conformance/_retention.ts";

/** Bun's default per-test limit is 5 s; these start a server. */
const SLOW = { timeout: 60_000 };
const DAY = 86_400_000;
const T0 = 1_800_000_000_000;

let seq = 0;
const fresh = () => `pgret_${Date.now().toString(36)}_${++seq}`;

describe("postgres retention", () => {
  const pg = postgresFixture();
  const closers = pg.closers;

  function client(): postgres.Sql {
    const sql = postgres(pg.server.url, { onnotice: () => {} });
    closers.push(() => sql.end({ timeout: 1 }));
    return sql;
  }

  /** A queue on its own schema's backend, on a clock the test moves. */
  function queue(
    options: Partial<QueueOptions> = {},
    schema = "jobline",
  ): { queue: Queue; clock: { now: number } } {
    const clock = { now: T0 };
    const q = createQueue({
      backend: postgresBackend({ url: pg.server.url, schema }),
      name: fresh(),
      clock: () => clock.now,
      ...options,
    });
    closers.push(() => q.close());
    return { queue: q, clock };
  }

  test(
    "a store made by schema version 3 upgrades: its jobs read as kept, run to the end, and clean() and count rules see them",
    SLOW,
    async () => {
      const schema = "ret_v3";
      const sql = client();
      await schemaAt(sql, schema, 3);
      const old = (id: string, status: string, key: string | null) =>
        sql.unsafe(
          `INSERT INTO ${schema}.jobs (queue, id, type, data, priority,
            max_attempts, run_at, created_at, key, held_key, metadata, status,
            updated_at, completed_at, result)
          VALUES ('v3', $1, 't', '1', 5, 3, $2, $2, $3, $4, '{}', $5, $2, $6,
            $7)`,
          [
            id,
            T0 - 10 * DAY,
            key,
            status === "pending" ? key : null,
            status,
            status === "complete" ? T0 - 9 * DAY : null,
            status === "complete" ? "1" : null,
          ],
        );
      await old("01OLD0000000000000000000A1", "complete", null);
      await old("01OLD0000000000000000000A2", "complete", null);
      await old("01OLD0000000000000000000B1", "pending", null);
      await old("01OLD0000000000000000000C1", "pending", "held");
      // The version 3 claim function takes the oldest pending job.
      const [claimed] = await sql.unsafe(
        `SELECT (job).id AS id FROM ${schema}.claim_jobs('v3', $1, NULL, 1,
          60000)`,
        [T0],
      );
      assert.equal(claimed?.id, "01OLD0000000000000000000B1");

      const clock = { now: T0 };
      const backend = postgresBackend({ url: pg.server.url, schema });
      const q = createQueue({
        backend,
        name: "v3",
        clock: () => clock.now,
        removeOnComplete: { count: 2 },
      });
      closers.push(() => q.close());
      const done = await backend.get("v3", "01OLD0000000000000000000A1", {
        now: T0,
      });
      assert.deepEqual(done?.keep, {
        complete: { age: null, count: null },
        failed: { age: null, count: null },
      });
      assert.equal(
        await q.enqueue("t", 2, { key: "held" }),
        "01OLD0000000000000000000C1",
        "the old pending job still holds its key",
      );
      const running = (await backend.get("v3", "01OLD0000000000000000000B1", {
        now: T0,
      }))!;
      assert.equal(running.status, "processing");
      // Its worker (of the old version) finishes it: the backend's own call.
      await backend.complete(
        "v3",
        { id: running.id, token: running.lease!.token },
        '"late"',
        { now: T0 },
      );
      assert.equal(
        (await q.get(running.id))?.status,
        "complete",
        "a job claimed before the upgrade completes after it",
      );
      // Three complete jobs, all kept by their own (null) rules; the next
      // job's count rule counts them all.
      clock.now += 30 * DAY;
      const next = await q.enqueue("u", 3);
      await q.complete((await q.claim({ types: ["u"] }))!, null);
      assert.equal((await q.stats()).complete, 2);
      assert.equal(await q.get("01OLD0000000000000000000A1"), null);
      assert.equal(await q.get("01OLD0000000000000000000A2"), null);
      assert.equal((await q.get(running.id))?.result, "late");
      assert.equal((await q.get(next))?.status, "complete");
      assert.equal(
        await q.clean({ status: "complete", olderThan: 20 * DAY }),
        1,
        "clean() finds the job finished before the upgrade",
      );
      assert.equal(await q.get(running.id), null);
    },
  );

  test(
    "completions made together keep exactly the newest count, and removeOnComplete: true deletes a whole batch after its updates",
    SLOW,
    async () => {
      const { queue: counted } = queue({ removeOnComplete: { count: 3 } });
      await counted.enqueueMany(
        Array.from({ length: 10 }, (_, i) => ({ type: "t", data: i })),
      );
      const jobs = await counted.claimMany(10);
      await Promise.all(jobs.map((j) => counted.complete(j, j.data)));
      assert.equal((await counted.stats()).complete, 3);

      const { queue: removing } = queue({ removeOnComplete: true });
      const ids = await removing.enqueueMany(
        Array.from({ length: 10 }, (_, i) => ({ type: "t", data: i })),
      );
      const heard = new Set<string>();
      const stop = await removing.listen("queue", (e) => {
        if (e.kind === "update" && e.update.status === "complete") {
          heard.add(e.update.jobId);
        }
      });
      closers.push(stop);
      const batch = await removing.claimMany(10);
      await Promise.all(batch.map((j) => removing.complete(j, "x")));
      assert.equal((await removing.stats()).complete, 0);
      for (const id of ids) assert.equal(await removing.get(id), null);
      await waitFor("every final update", () => heard.size === 10);
    },
  );

  test(
    "keep ages mix in a status: each job goes at its own time, and clean() and the count rule go oldest first across ages",
    SLOW,
    async () => {
      const { queue: q, clock } = queue();
      const finish = async (removeOnComplete: { age: number } | false) => {
        const id = await completeOne(q, { removeOnComplete });
        clock.now += 1;
        return id;
      };
      const alive = async (ids: string[]) =>
        (await Promise.all(ids.map(async (id) => [id, await q.get(id)])))
          .filter(([, job]) => job !== null).map(([id]) => id);
      const a = await finish({ age: 50_000 });
      const b = await finish(false);
      const c = await finish({ age: 1_000 }); // due first, finished later
      const d = await finish({ age: 50_000 });
      clock.now = T0 + 2 + 1_000;
      const f = await finish(false);
      assert.deepEqual(await alive([a, b, c, d, f]), [a, b, d, f]);
      assert.equal(await q.clean({ status: "complete", limit: 2 }), 2);
      assert.deepEqual(await alive([a, b, d, f]), [d, f], "a and b first");
      const e = await completeOne(q, { removeOnComplete: { count: 2 } });
      assert.deepEqual(await alive([d, f, e]), [f, e], "d was the oldest");
    },
  );

  test(
    "one finishing step deletes at most 100 jobs past their removal time; the next steps take the rest",
    SLOW,
    async () => {
      const { queue: q, clock } = queue({ removeOnComplete: { age: 1_000 } });
      await q.enqueueMany(
        Array.from({ length: 250 }, (_, i) => ({ type: "t", data: i })),
      );
      const jobs = await q.claimMany(250);
      await Promise.all(jobs.map((j) => q.complete(j, null)));
      assert.equal((await q.stats()).complete, 250);
      clock.now += 1_000;
      const one = async () => {
        await q.enqueue("t", null);
        await q.complete((await q.claim())!, null);
        return (await q.stats()).complete;
      };
      assert.equal(await one(), 151);
      assert.equal(await one(), 52);
      assert.equal(await one(), 3, "the fresh ones are not due yet");
    },
  );

  test(
    "a lease that runs out on the last attempt trims failed jobs to removeOnFail's count, the last claimed kept",
    SLOW,
    async () => {
      const { queue: q, clock } = queue({
        removeOnFail: { count: 2 },
        maxAttempts: 1,
      });
      const ids = await q.enqueueMany(
        Array.from({ length: 5 }, (_, i) => ({ type: "t", data: i })),
      );
      assert.equal((await q.claimMany(5, { leaseMs: 1_000 })).length, 5);
      clock.now += 1_000;
      assert.equal(await q.claim(), null);
      const s = await q.stats();
      assert.deepEqual([s.failed, s.processing, s.pending], [2, 0, 0]);
      const left = await Promise.all(ids.map(async (id) => await q.get(id)));
      assert.deepEqual(left.map((j) => j?.status ?? null), [
        null,
        null,
        null,
        "failed",
        "failed",
      ]);
    },
  );

  /**
   * Subscribes to a job (the current state first: LISTEN is on); `rest`
   * resolves with the updates that follow, until a terminal one. The final
   * update must come from the notification: the periodic re-read (after
   * 5 s of silence) finds the job removed, and throws.
   */
  async function watch(
    q: Queue,
    id: string,
  ): Promise<{ rest: Promise<JobUpdate[]> }> {
    const it = subscribe(q, id, {
      ifMissing: "throw",
      resyncInterval: 5_000,
    })[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value?.status, "pending");
    const rest = (async () => {
      const seen: JobUpdate[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) {
        seen.push(r.value);
      }
      return seen;
    })();
    return { rest };
  }

  test(
    "a job removed as it finishes, its update too large to notify, still gives its subscribers the final update",
    SLOW,
    async () => {
      const big = "x".repeat(20_000);
      const { queue: q } = queue({
        removeOnComplete: true,
        removeOnFail: true,
        maxAttempts: 1,
      });
      // One completion alone (complete_job), then two together
      // (complete_jobs), a failure and a cancel.
      const one = await q.enqueue("t", 1);
      const seenOne = await watch(q, one);
      await q.complete((await q.claim())!, { big });
      assert.equal(await q.get(one), null, "removed at once");
      const last = (await seenOne.rest).at(-1)!;
      assert.equal(last.status, "complete");
      assert.deepEqual(last.result, { big });

      const ids = await q.enqueueMany([
        { type: "t", data: 4 },
        { type: "t", data: 5 },
      ]);
      const seen = await Promise.all(ids.map((id) => watch(q, id)));
      const both = await q.claimMany(2);
      await Promise.all(both.map((j, i) => q.complete(j, `${i}${big}`)));
      const finals = (await Promise.all(seen.map((s) => s.rest))).map((s) =>
        s.at(-1)!
      );
      assert.deepEqual(finals.map((u) => [u.status, u.result]), [
        ["complete", `0${big}`],
        ["complete", `1${big}`],
      ]);

      const failing = await q.enqueue("t", 2);
      const seenFail = await watch(q, failing);
      await q.fail((await q.claim())!, new Error(big));
      const failed = (await seenFail.rest).at(-1)!;
      assert.equal(failed.status, "failed");
      // Error messages are cut (to some KB, with a marker): still too large.
      assert.match(failed.error!.message, /^x{7900}/);

      // A cancel's reason is short, a progress message up to 4,096
      // characters: quotes, escaped, make twice as many bytes.
      const quotes = '"'.repeat(4_096);
      const cancelled = await q.enqueue("t", 3);
      const seenCancel = await watch(q, cancelled);
      await q.update((await q.claim())!, { message: quotes });
      assert.equal(await q.cancel(cancelled, "enough"), true);
      const gone = (await seenCancel.rest).at(-1)!;
      assert.deepEqual([gone.status, gone.message], ["cancelled", quotes]);
      const stats = await q.stats();
      assert.equal(stats.failed + stats.complete + stats.cancelled, 0);
      for (const id of [failing, cancelled]) {
        assert.equal(await q.get(id), null);
      }
    },
  );
});
