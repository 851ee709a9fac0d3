/**
 * The hand-off on PostgreSQL, on a throwaway server: what only its joined
 * statement shows. A handed-off job's "pending" update goes out before its
 * "processing" one; its notification wakes no worker of the backend; an
 * enqueue in the caller's transaction is never handed off; and when the
 * server refuses the joined statement, the batch is stored alone. The
 * rules every backend keeps are the conformance suite's
 * (tests/conformance/_handoff.ts).
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { createQueue, createWorker, type Queue } from "../mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import type { Backend, BackendEvent } from "../src/backend/interface.ts";
import { postgresFixture } from "./_support/postgres_fixture.ts";
import { sleep, waitFor } from "./_support/time.ts";

let seq = 0;
const fresh = () => `pghand_${Date.now().toString(36)}_${++seq}`;

describe("postgres hand-off", () => {
  const pg = postgresFixture();
  const closers = pg.closers;

  /**
   * A backend on its own schema, how often its enqueueClaim ran, and how
   * many of its claims are under way.
   */
  function backend(): {
    b: Backend;
    schema: string;
    handOffs: () => number;
    claiming: () => number;
  } {
    const schema = fresh();
    const b = postgresBackend({ url: pg.server.url, schema });
    closers.push(() => b.close());
    let calls = 0;
    let claiming = 0;
    const own = b.enqueueClaim!.bind(b);
    b.enqueueClaim = (...args) => (calls++, own(...args));
    const claim = b.claim.bind(b);
    b.claim = async (...args) => {
      claiming++;
      try {
        return await claim(...args);
      } finally {
        claiming--;
      }
    };
    return { b, schema, handOffs: () => calls, claiming: () => claiming };
  }

  /** Waits until the worker's claims on `b` are over: it idles. */
  async function idle(claiming: () => number): Promise<void> {
    await sleep(100);
    await waitFor("the worker's claims to end", () => claiming() === 0);
  }

  /** A queue on `b` with an idle worker of type "t" that completes at once. */
  async function idleWorker(
    b: Backend,
    claiming: () => number,
  ): Promise<Queue> {
    const queue = createQueue({ backend: b, name: fresh() });
    closers.push(() => queue.close());
    const worker = createWorker(queue, { t: () => "done" }, {
      pollInterval: 60_000,
    });
    closers.push(() => worker.stop({ timeout: 1_000 }));
    worker.on("error", () => {}); // claims that the test makes fail
    await queue.stats(); // migrated
    await idle(claiming);
    return queue;
  }

  test("a handed-off job's 'pending' update goes out before its 'processing' one", async () => {
    const { b, handOffs, claiming } = backend();
    const queue = await idleWorker(b, claiming);
    const seen: string[] = [];
    const stop = await b.listen(queue.name, "queue", (e: BackendEvent) => {
      if (e.kind === "update") seen.push(e.update.status);
    });
    closers.push(stop);
    await queue.enqueue("t", null);
    assert.equal(handOffs(), 1);
    await waitFor("the job's updates", () => seen.includes("complete"));
    assert.deepEqual(seen, ["pending", "processing", "complete"]);
  });

  test("the notification of a handed-off job wakes no worker of the backend: no empty claim follows each hand-off", async () => {
    const { b, handOffs, claiming } = backend();
    let claims = 0;
    const own = b.claim.bind(b);
    b.claim = (...args) => (claims++, own(...args));
    const queue = createQueue({ backend: b, name: fresh() });
    closers.push(() => queue.close());
    const worker = createWorker(queue, { t: () => "done" }, {
      pollInterval: 60_000,
      concurrency: 4, // more free slots than a job: a wake-up would claim
    });
    closers.push(() => worker.stop({ timeout: 1_000 }));
    await waitFor("the worker's first claim", () => claims > 0);
    await idle(claiming);
    const before = claims;
    for (let i = 1; i <= 20; i++) {
      const id = await queue.enqueue("t", i);
      await waitFor(
        "the job to complete",
        async () => (await queue.get(id))?.status === "complete",
      );
      await sleep(20); // a wake-up, were there one, claims meanwhile
    }
    // A hand-off is taken when the worker has no claim in the way (most
    // times here); an enqueue not handed off costs the claim of its job.
    // Without the rule, each hand-off costs an empty claim too, whichever
    // of the notification and the enqueue's reply comes first.
    assert.ok(handOffs() >= 15, `${handOffs()} hand-offs`);
    const empty = claims - before - (20 - handOffs());
    assert.ok(empty <= 2, `${empty} claims after hand-offs`);
  });

  test("an enqueue in the caller's transaction is not handed off: the job runs once it commits", async () => {
    const { b, schema, handOffs, claiming } = backend();
    const queue = await idleWorker(b, claiming);
    const sql = postgres(pg.server.url, { max: 1, onnotice: () => {} });
    closers.push(() => sql.end());
    const id = await sql.begin((tx) =>
      queue.enqueue("t", null, { tx: tx as never })
    );
    assert.equal(handOffs(), 0);
    await waitFor(
      "the job to complete",
      async () => (await queue.get(id))?.status === "complete",
    );
    const [row] = await sql.unsafe(
      `SELECT count(*)::int AS n FROM "${schema}".jobs`,
    );
    assert.equal(row!.n, 1);
  });

  test("when the server refuses the joined statement, the batch is stored alone", async () => {
    const { b, schema, handOffs, claiming } = backend();
    const queue = await idleWorker(b, claiming);
    const sql = postgres(pg.server.url, { max: 1, onnotice: () => {} });
    closers.push(() => sql.end());
    // Every claim now fails on the server, the hand-off's as the worker's.
    await sql.unsafe(`ALTER FUNCTION "${schema}".claim_jobs(text, float8,
      text, integer, float8, text) RENAME TO claim_jobs_away`);
    const ids = await queue.enqueueMany([
      { type: "t", data: 1 },
      { type: "t", data: 2 },
    ]);
    assert.equal(handOffs(), 1);
    for (const id of ids) {
      assert.equal((await queue.get(id))?.status, "pending");
    }
    await sql.unsafe(`ALTER FUNCTION "${schema}".claim_jobs_away(text, float8,
      text, integer, float8, text) RENAME TO claim_jobs`);
  });
});
