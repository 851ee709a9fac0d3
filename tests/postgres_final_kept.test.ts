/**
 * Final updates on PostgreSQL of jobs that a count or age rule removes in
 * the same step that finishes them, on a throwaway server (SPEC §7.6): a
 * job completed with an update too large to notify (announced as a
 * re-read marker) beside a batch mate whose completion trims or sweeps it
 * still gives waitFor and its subscribers the completed job, and only such
 * recent jobs leave a kept final update. Time moves on the queue's clock.
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
import { postgresFixture } from "./_support/postgres_fixture.ts";
import { sleep } from "./_support/time.ts";

/** Bun's default per-test limit is 5 s; these start a server. */
const SLOW = { timeout: 60_000 };
const T0 = 1_800_000_000_000;
/** A result too large to notify (7,900 bytes or more). */
const BIG = "x".repeat(9_000);

let seq = 0;
const fresh = () => `pgkept_${Date.now().toString(36)}_${++seq}`;

describe("postgres final updates of jobs removed by their batch", () => {
  const pg = postgresFixture();
  const closers = pg.closers;

  /** A queue on a clock the test moves. */
  function queue(
    options: Partial<QueueOptions>,
  ): { queue: Queue; clock: { now: number }; name: string } {
    const clock = { now: T0 };
    const name = fresh();
    const q = createQueue({
      backend: postgresBackend({ url: pg.server.url }),
      name,
      clock: () => clock.now,
      ...options,
    });
    closers.push(() => q.close());
    return { queue: q, clock, name };
  }

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

  /**
   * Enqueues two jobs and claims them; completes the first with BIG, and
   * `step` ms later on the queue's clock the second with a small result, in
   * the same tick (one batch when the batcher takes both). Returns what
   * waitFor and a subscriber of the first saw.
   */
  async function completeBeside(
    q: Queue,
    clock: { now: number },
    step: number,
  ): Promise<{ waited: unknown; last: JobUpdate | undefined; id: string }> {
    const id = await q.enqueue("t", 1);
    await q.enqueue("t", 2);
    const waiting = q.waitFor(id, { timeout: 10_000 });
    const seen = await watch(q, id);
    await sleep(100); // waitFor's own subscription is listening too
    const [first, second] = await q.claimMany(2);
    assert.equal(first?.id, id);
    const done = q.complete(first!, BIG);
    clock.now += step;
    await Promise.all([done, q.complete(second!, "small")]);
    const waited = await waiting;
    const last = (await seen.rest).at(-1);
    return { waited, last, id };
  }

  /**
   * Under `rule`, completes the job beside its batch mate (`step` ms
   * apart), which removes it; waitFor and its subscribers must still get
   * it completed with BIG.
   */
  async function removedByMate(
    rule: { count: number } | { age: number },
    step: number,
    removal: string,
  ): Promise<void> {
    const { queue: q, clock } = queue({ removeOnComplete: rule });
    const { waited, last, id } = await completeBeside(q, clock, step);
    assert.equal(await q.get(id), null, removal);
    const job = waited as { id: string; status: string; result: unknown };
    assert.deepEqual([job?.id, job?.status, job?.result], [
      id,
      "complete",
      BIG,
    ]);
    assert.deepEqual([last?.status, last?.result], ["complete", BIG]);
  }

  test(
    "a job trimmed by its batch mate under removeOnComplete { count: 1 } gives waitFor and its subscribers the completed job",
    SLOW,
    () => removedByMate({ count: 1 }, 0, "trimmed"),
  );

  test(
    "a job swept by its batch mate under removeOnComplete { age: 5 } gives waitFor and its subscribers the completed job",
    SLOW,
    () => removedByMate({ age: 5 }, 10, "swept"),
  );

  test(
    "only jobs removed within a minute of finishing leave a kept final update",
    SLOW,
    async () => {
      const sql = postgres(pg.server.url, { onnotice: () => {} });
      closers.push(() => sql.end({ timeout: 1 }));
      const kept = async (name: string) =>
        (await sql.unsafe(
          `SELECT id FROM jobline.final_updates WHERE queue = $1 ORDER BY id`,
          [name],
        )).map((r) => r.id as string);
      for (const rule of [{ count: 1 }, { age: 5 }]) {
        const { queue: q, clock, name } = queue({ removeOnComplete: rule });
        // Finished long ago, removed by the next completion: nothing kept.
        const old = await q.enqueue("t", 0);
        await q.complete((await q.claim())!, BIG);
        clock.now += 120_000;
        const { id } = await completeBeside(q, clock, 10);
        assert.equal(await q.get(old), null, "removed");
        assert.deepEqual(await kept(name), [id], JSON.stringify(rule));
      }
    },
  );
});
